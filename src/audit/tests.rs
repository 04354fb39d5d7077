use super::*;
use serde_json::json;

fn write_records(path: &Path, n: usize) {
    let log = AuditLog::open(path).unwrap();
    for i in 0..n {
        log.append(json!({"kind": "decision", "call": format!("c{i}"), "tool": "pve_list_nodes"}))
            .unwrap();
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_fresh_chain_verifies_and_reports_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 5);
    let report = verify_file(&path).unwrap();
    assert_eq!(report.records, 5);
    let last: Value = serde_json::from_str(lines(&path).last().unwrap()).unwrap();
    assert_eq!(report.head, last["hash"].as_str().unwrap());
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 2);
    write_records(&path, 3);
    assert_eq!(verify_file(&path).unwrap().records, 5);
}

#[test]
fn an_edited_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 4);
    let mut l = lines(&path);
    l[2] = l[2].replace("pve_list_nodes", "pve_delete_qemu_vm");
    rewrite(&path, &l);
    let err = verify_file(&path).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Broken { line: 3, problem, .. } if problem.contains("edited")),
        "{err}"
    );
}

#[test]
fn a_removed_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 4);
    let mut l = lines(&path);
    l.remove(1);
    rewrite(&path, &l);
    assert!(matches!(
        verify_file(&path).unwrap_err(),
        VerifyError::Broken { line: 2, .. }
    ));
    // Removing the first record is caught too.
    let mut l = lines(&path);
    l.remove(0);
    rewrite(&path, &l);
    assert!(matches!(
        verify_file(&path).unwrap_err(),
        VerifyError::Broken { line: 1, .. }
    ));
}

#[test]
fn reordered_records_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 4);
    let mut l = lines(&path);
    l.swap(1, 2);
    rewrite(&path, &l);
    assert!(matches!(
        verify_file(&path).unwrap_err(),
        VerifyError::Broken { line: 2, .. }
    ));
}

#[test]
fn a_recomputed_hash_without_relinking_is_detected() {
    // An editor who recomputes the edited record's hash still breaks the
    // next record's prev link.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 3);
    let mut l = lines(&path);
    let Value::Object(mut rec) = serde_json::from_str::<Value>(&l[0]).unwrap() else {
        panic!()
    };
    rec.remove("hash");
    rec.insert("tool".into(), json!("pve_delete_qemu_vm"));
    let h = record_hash(GENESIS, &rec);
    rec.insert("hash".into(), json!(h));
    l[0] = serde_json::to_string(&rec).unwrap();
    rewrite(&path, &l);
    assert!(matches!(
        verify_file(&path).unwrap_err(),
        VerifyError::Broken { line: 2, .. }
    ));
}

#[test]
fn a_torn_tail_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 2);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":2,\"ki");
    std::fs::write(&path, text).unwrap();
    let err = AuditLog::open(&path).err().expect("must refuse");
    assert!(err.to_string().contains("audit verify"), "{err}");
}

#[test]
fn a_failing_disk_fails_every_append() {
    // /dev/full accepts the open and fails every write with ENOSPC.
    let log = AuditLog::open(Path::new("/dev/full")).unwrap();
    assert!(log.append(json!({"kind": "decision"})).is_err());
    assert!(matches!(
        log.append(json!({"kind": "decision"})),
        Err(AuditError::Broken { .. })
    ));
}
