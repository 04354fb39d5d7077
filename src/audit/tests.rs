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
fn a_torn_tail_is_set_aside_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 2);
    let torn = "{\"seq\":2,\"ki";
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(torn);
    std::fs::write(&path, text).unwrap();
    assert_eq!(
        inspect(&path).unwrap(),
        LogState::TornTail {
            bytes: torn.len() as u64
        }
    );

    let log = AuditLog::open(&path).unwrap();
    log.append(json!({"kind": "decision", "call": "after"}))
        .unwrap();
    let report = verify_file(&path).unwrap();
    assert_eq!(report.records, 4, "2 records, the recovery record, 1 more");
    let recovered: Value = serde_json::from_str(&lines(&path)[2]).unwrap();
    assert_eq!(recovered["kind"], "recovered");
    assert_eq!(recovered["reason"], "torn_tail");
    assert_eq!(recovered["bytes"], torn.len());
    assert_eq!(
        recovered["sha256"],
        crate::util::sha256_hex(torn.as_bytes())
    );
    let side = dir.path().join(recovered["side_file"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(side).unwrap(), torn);
    assert_eq!(inspect(&path).unwrap(), LogState::Intact { records: 4 });
}

#[test]
fn an_unreadable_last_line_refuses_to_open_until_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 2);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("this is not a record\n");
    std::fs::write(&path, text).unwrap();
    assert!(matches!(
        inspect(&path).unwrap(),
        LogState::NeedsRepair { .. }
    ));
    let err = AuditLog::open(&path).err().expect("must refuse");
    assert!(err.to_string().contains("audit repair"), "{err}");

    let log = AuditLog::repair(&path).unwrap();
    log.append(json!({"kind": "decision"})).unwrap();
    assert_eq!(verify_file(&path).unwrap().records, 4);
    let recovered: Value = serde_json::from_str(&lines(&path)[2]).unwrap();
    assert_eq!(recovered["reason"], "repair");
    let side = dir.path().join(recovered["side_file"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(side).unwrap(),
        "this is not a record\n"
    );
    // Nothing is left to repair.
    assert!(matches!(
        AuditLog::repair(&path),
        Err(AuditError::NothingToRepair { .. })
    ));
}

#[test]
fn the_last_record_is_found_whatever_its_size() {
    // A record larger than any window a reader might use, written by an
    // older writer that did not bound records.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut rec = Map::new();
    rec.insert("kind".into(), json!("decision"));
    rec.insert("tool".into(), json!("x".repeat(9 << 20)));
    rec.insert("seq".into(), json!(0));
    rec.insert("prev".into(), json!(GENESIS));
    let hash = record_hash(GENESIS, &rec);
    rec.insert("hash".into(), json!(hash));
    std::fs::write(&path, canonical::to_string(&Value::Object(rec)) + "\n").unwrap();
    let log = AuditLog::open(&path).unwrap();
    log.append(json!({"kind": "decision"})).unwrap();
    assert_eq!(verify_file(&path).unwrap().records, 2);
}

#[test]
fn a_huge_record_is_bounded_and_still_chained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append(json!({"kind": "decision", "tool": "t".repeat(8 << 20)}))
        .unwrap();
    let line = &lines(&path)[0];
    assert!(line.len() <= MAX_RECORD, "{} bytes", line.len());
    let rec: Value = serde_json::from_str(line).unwrap();
    assert_eq!(rec["tool"]["bytes"], (8 << 20) + 2);
    // A crash right after it does not stop a restart.
    drop(log);
    let log = AuditLog::open(&path).unwrap();
    log.append(json!({"kind": "decision"})).unwrap();
    assert_eq!(verify_file(&path).unwrap().records, 2);
}

#[test]
fn two_writers_on_one_file_keep_one_chain() {
    // Two handles on the same path are two open file descriptions, as in
    // two processes: only the file lock orders them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let a = std::sync::Arc::new(AuditLog::open(&path).unwrap());
    let b = std::sync::Arc::new(AuditLog::open(&path).unwrap());
    let threads: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .flat_map(|(w, log)| {
            (0..2).map(move |t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        log.append(json!({"kind": "decision", "call": format!("w{w}t{t}c{i}")}))
                            .unwrap();
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(verify_file(&path).unwrap().records, 400);
}

#[test]
fn creating_the_log_and_setting_aside_sync_the_directory() {
    let synced = || tail::DIR_SYNCS.with(|d| std::mem::take(&mut *d.borrow_mut()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.jsonl");
    synced();
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(synced(), vec![dir.path().to_path_buf()], "on create");
    log.append(json!({"kind": "decision"})).unwrap();
    drop(log);
    AuditLog::open(&path).unwrap();
    assert!(synced().is_empty(), "not on reopening an existing file");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"torn");
    std::fs::write(&path, text).unwrap();
    AuditLog::open(&path).unwrap();
    assert_eq!(synced(), vec![dir.path().to_path_buf()], "on setting aside");
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

#[test]
fn a_writer_waiting_on_a_stalled_process_fails_closed_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    // Another process (another open file description) holds the lock.
    let other = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    other.lock().unwrap();
    let started = std::time::Instant::now();
    let err = log
        .append(json!({"kind": "decision"}))
        .expect_err("must not write without the lock");
    assert!(
        err.to_string().contains("held the audit log's lock"),
        "{err}"
    );
    assert!(started.elapsed() >= LOCK_WAIT, "waited its turn first");
    // Not broken: once the other process lets go, writing resumes.
    other.unlock().unwrap();
    assert!(log.is_writable());
    log.append(json!({"kind": "decision"})).unwrap();
    assert_eq!(verify_file(&path).unwrap().records, 1);
}
