use super::writer::LOCK_WAIT;
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
    let h = record_hash(None, GENESIS, &rec);
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

    let log = AuditLog::repair(&path, AuditOptions::default()).unwrap();
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
        AuditLog::repair(&path, AuditOptions::default()),
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
    let hash = record_hash(None, GENESIS, &rec);
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

#[test]
fn concurrent_callers_share_flushes_and_keep_one_chain_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    log.append(json!({"kind": "decision", "call": format!("t{t}c{i}")}))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(verify_file(&path).unwrap().records, 800);
    assert!(
        log.flushes() < 800,
        "800 records from 16 threads took {} flushes: no batching",
        log.flushes()
    );
    // Each thread's records are in the order it made them.
    let lines = lines(&path);
    for t in 0..16 {
        let mine: Vec<u64> = lines
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter_map(|r| {
                let call = r["call"]
                    .as_str()?
                    .strip_prefix(&format!("t{t}c"))?
                    .to_string();
                call.parse().ok()
            })
            .collect();
        assert_eq!(mine, (0..50).collect::<Vec<u64>>());
    }
}

#[tokio::test]
async fn an_async_append_is_durable_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append_async(json!({"kind": "decision", "call": "a"}))
        .await
        .unwrap();
    assert_eq!(lines(&path).len(), 1);
    assert!(matches!(
        log.append_async(json!("not an object")).await,
        Err(AuditError::NotAnObject)
    ));
}

fn chain_key(text: &str) -> std::sync::Arc<ChainKey> {
    std::sync::Arc::new(
        ChainKey::from_text(secrecy::SecretString::from(text.to_string()), "test").unwrap(),
    )
}

fn keyed(key: &std::sync::Arc<ChainKey>) -> AuditOptions {
    AuditOptions {
        key: Some(key.clone()),
        ..Default::default()
    }
}

#[test]
fn a_keyed_chain_cannot_be_rewritten_without_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let key = chain_key(&"k".repeat(32));
    {
        let log = AuditLog::open_with(&path, keyed(&key)).unwrap();
        for i in 0..5 {
            log.append(json!({"kind": "decision", "call": format!("c{i}")}))
                .unwrap();
        }
    }
    let with_key = VerifyOptions {
        key: Some(&key),
        pubkey: None,
    };
    assert_eq!(verify(&path, with_key).unwrap().records, 5);
    // Without the key the links still check; the MACs cannot.
    assert_eq!(verify_file(&path).unwrap().unchecked_macs, 5);

    // An edit that keeps the MAC is caught by the MAC.
    let original = lines(&path);
    let mut edited = original.clone();
    edited[2] = edited[2].replace("\"c2\"", "\"cX\"");
    rewrite(&path, &edited);
    let err = verify(&path, with_key).unwrap_err().to_string();
    assert!(
        err.contains(":3:") && err.contains("MAC does not match"),
        "{err}"
    );

    // Rewriting the whole chain with plain SHA-256 (no key needed) passes
    // an unkeyed check, and fails the keyed one on the first record.
    let mut prev = GENESIS.to_string();
    let forged: Vec<String> = original
        .iter()
        .map(|l| {
            let Value::Object(mut rec) = serde_json::from_str::<Value>(l).unwrap() else {
                unreachable!()
            };
            rec.remove("key");
            rec.remove("hash");
            rec.insert("prev".into(), json!(prev));
            let h = record_hash(None, &prev, &rec);
            rec.insert("hash".into(), json!(h));
            prev = h;
            canonical::to_string(&Value::Object(rec))
        })
        .collect();
    rewrite(&path, &forged);
    assert_eq!(verify_file(&path).unwrap().records, 5);
    let err = verify(&path, with_key).unwrap_err().to_string();
    assert!(err.contains(":1:") && err.contains("not keyed"), "{err}");

    // Removing or reordering keyed records breaks the links as ever.
    let mut removed = original.clone();
    removed.remove(2);
    rewrite(&path, &removed);
    let err = verify(&path, with_key).unwrap_err().to_string();
    assert!(
        err.contains(":3:") && err.contains("removed, inserted or reordered"),
        "{err}"
    );
    let mut swapped = original.clone();
    swapped.swap(1, 2);
    rewrite(&path, &swapped);
    assert!(verify(&path, with_key).is_err());

    // Rewriting it under another key is named as such.
    rewrite(&path, &original);
    let other = chain_key(&"o".repeat(32));
    let err = verify(
        &path,
        VerifyOptions {
            key: Some(&other),
            pubkey: None,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("keyed with chain key"), "{err}");
}

fn signing(every: u64, interval_ms: u64) -> (AuditOptions, CheckpointVerifier) {
    let (_, signer) = CheckpointSigner::generate().unwrap();
    let public = signer.public();
    (
        AuditOptions {
            key: None,
            signer: Some(std::sync::Arc::new(signer)),
            checkpoint_every: every,
            checkpoint_interval: std::time::Duration::from_millis(interval_ms),
            ..Default::default()
        },
        public,
    )
}

fn kinds(path: &Path) -> Vec<String> {
    lines(path)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn checkpoints_are_signed_every_n_records_and_at_close_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (options, public) = signing(10, 3_600_000);
    {
        let log = AuditLog::open_with(&path, options).unwrap();
        for i in 0..25 {
            log.append(json!({"kind": "decision", "call": format!("c{i}")}))
                .unwrap();
        }
    }
    let k = kinds(&path);
    assert_eq!(k.len(), 28);
    assert_eq!(
        (k[10].as_str(), k[21].as_str(), k[27].as_str()),
        ("checkpoint", "checkpoint", "checkpoint")
    );
    let opts = VerifyOptions {
        key: None,
        pubkey: Some(&public),
    };
    let r = verify(&path, opts).unwrap();
    assert_eq!(
        (r.checkpoints, r.last_checkpoint, r.after_last_checkpoint),
        (3, Some(26), 0)
    );

    // Cut short after a checkpoint: it still verifies, and says how much
    // is not covered by a signature.
    let all = lines(&path);
    rewrite(&path, &all[..25]);
    let r = verify(&path, opts).unwrap();
    assert_eq!((r.last_checkpoint, r.after_last_checkpoint), (Some(20), 3));

    // A checkpoint signed by another key, or whose signature was altered.
    rewrite(&path, &all);
    let (_, stranger) = signing(10, 1000);
    let err = verify(
        &path,
        VerifyOptions {
            key: None,
            pubkey: Some(&stranger),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(":11:") && err.contains("not the public key given"),
        "{err}"
    );
    let mut tampered = all.clone();
    let Value::Object(mut cp) = serde_json::from_str::<Value>(&tampered[10]).unwrap() else {
        unreachable!()
    };
    let sig = cp["sig"].as_str().unwrap().to_string();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    cp.insert("sig".into(), json!(format!("{flipped}{}", &sig[1..])));
    // Re-chained without a key, so only the signature is wrong.
    cp.remove("hash");
    let h = record_hash(None, cp["prev"].as_str().unwrap(), &cp);
    cp.insert("hash".into(), json!(h));
    tampered[10] = canonical::to_string(&Value::Object(cp));
    rewrite(&path, &tampered[..11]);
    let err = verify(&path, opts).unwrap_err().to_string();
    assert!(err.contains("signature does not verify"), "{err}");

    // A log with records and no checkpoint proves nothing with --pubkey.
    rewrite(&path, &all[..5]);
    assert!(matches!(
        verify(&path, opts),
        Err(VerifyError::Unproven { .. })
    ));
}

#[test]
fn a_quiet_log_is_checkpointed_after_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (options, _) = signing(1000, 100);
    let log = AuditLog::open_with(&path, options).unwrap();
    log.append(json!({"kind": "decision"})).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while kinds(&path).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(kinds(&path), ["decision", "checkpoint"]);
    drop(log);
    // Nothing new since: closing adds no second checkpoint.
    assert_eq!(kinds(&path).len(), 2);
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("audit.jsonl") && !name.ends_with(".policy-sets")
        })
        .collect();
    // Sealed segments in order (their names carry their first seq), then
    // the live file.
    all.sort_by_key(|p| (p.extension().is_some_and(|e| e == "jsonl"), p.clone()));
    all
}

fn rotating(bytes: u64) -> AuditOptions {
    AuditOptions {
        rotate_bytes: Some(bytes),
        ..Default::default()
    }
}

#[test]
fn a_rotated_log_is_one_chain_across_sealed_segments() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (mut options, public) = signing(1000, 3_600_000);
    options.rotate_bytes = Some(2_000);
    {
        let log = AuditLog::open_with(&path, options).unwrap();
        for i in 0..60 {
            log.append(json!({"kind": "decision", "call": format!("c{i}")}))
                .unwrap();
        }
    }
    let files = segments(dir.path());
    assert!(files.len() >= 4, "{files:?}");
    let opts = VerifyOptions {
        key: None,
        pubkey: Some(&public),
    };
    let reports = verify_chain(&files, opts);
    let mut total = 0;
    let mut next = 0;
    for (f, r) in &reports {
        let r = r
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(r.linked && r.first_seq == next, "{}: {r:?}", f.display());
        next = r.first_seq + r.records;
        total += r.records;
    }
    let kinds: Vec<String> = files.iter().flat_map(|f| kinds(f)).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "decision").count(), 60);
    assert_eq!(total as usize, kinds.len());
    // Every sealed segment is read-only, named by its first seq, ends with
    // a checkpoint naming it, and the next file starts by naming it.
    for (i, f) in files.iter().enumerate().filter(|(_, f)| **f != path) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o440
        );
        let last: Value = serde_json::from_str(lines(f).last().unwrap()).unwrap();
        assert_eq!(
            (last["kind"].as_str(), last["segment"].as_str()),
            (Some("checkpoint"), Some(name.as_str()))
        );
        let next_file = if i + 1 < files.len() && files[i + 1] != path {
            &files[i + 1]
        } else {
            &path
        };
        let first: Value = serde_json::from_str(&lines(next_file)[0]).unwrap();
        assert_eq!(
            (first["kind"].as_str(), first["previous"].as_str()),
            (Some("segment_start"), Some(name.as_str()))
        );
    }
    // The live file alone starts mid-chain, and says after what.
    let alone = verify(&path, VerifyOptions::default()).unwrap();
    assert!(!alone.linked && alone.first_seq > 0);
    // A segment taken away breaks the chain at the file after it.
    let without: Vec<_> = files.iter().filter(|f| **f != files[1]).cloned().collect();
    let broken = verify_chain(&without, VerifyOptions::default());
    let err = broken[1].1.as_ref().unwrap_err().to_string();
    assert!(err.contains("a record was removed"), "{err}");
}

#[test]
fn two_writers_follow_each_others_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Two handles on one path are two open file descriptions, as two
    // processes would have: each must notice the other's rotation.
    let a = std::sync::Arc::new(AuditLog::open_with(&path, rotating(3_000)).unwrap());
    let b = std::sync::Arc::new(AuditLog::open_with(&path, rotating(3_000)).unwrap());
    let threads: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .map(|(w, log)| {
            std::thread::spawn(move || {
                for i in 0..150 {
                    log.append(json!({"kind": "decision", "call": format!("w{w}c{i}")}))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let files = segments(dir.path());
    assert!(files.len() >= 5, "{files:?}");
    let mut decisions = 0;
    for (f, r) in verify_chain(&files, VerifyOptions::default()) {
        let r = r.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(r.linked, "{}", f.display());
        decisions += kinds(&f).iter().filter(|k| *k == "decision").count();
    }
    assert_eq!(decisions, 300);
}

#[test]
fn a_chain_goes_on_only_with_the_key_it_was_written_with() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let key = chain_key(&"k".repeat(32));
    drop(
        AuditLog::open_with(&path, keyed(&key))
            .unwrap()
            .append(json!({"kind": "decision"})),
    );
    let other = chain_key(&"o".repeat(32));
    for (options, says) in [
        (AuditOptions::default(), "gives no chain key"),
        (keyed(&other), "gives chain key"),
    ] {
        let err = AuditLog::open_with(&path, options)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&format!("keyed with chain key {}", key.id())) && err.contains(says),
            "{err}"
        );
    }
    AuditLog::open_with(&path, keyed(&key)).unwrap();
    // And an unkeyed chain is not continued keyed.
    let plain = dir.path().join("plain.jsonl");
    AuditLog::open(&plain)
        .unwrap()
        .append(json!({"kind": "decision"}))
        .unwrap();
    let err = AuditLog::open_with(&plain, keyed(&key))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("records are unkeyed"), "{err}");
}

#[test]
fn a_log_cut_or_replaced_under_a_running_writer_is_refused_not_continued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let key = chain_key(&"k".repeat(32));
    let log = AuditLog::open_with(&path, keyed(&key)).unwrap();
    for i in 0..5 {
        log.append(json!({"kind": "decision", "call": format!("c{i}")}))
            .unwrap();
    }
    // Cut back to three records: the writer must not sign on from there.
    rewrite(&path, &lines(&path)[..3]);
    let err = log
        .append(json!({"kind": "decision"}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cut or replaced") && err.contains("shorter"),
        "{err}"
    );
    assert!(!log.is_writable());
    assert_eq!(lines(&path).len(), 3, "nothing was added to the cut log");

    // Removed, or replaced by a file that does not continue the chain.
    let other = dir.path().join("other.jsonl");
    let log = AuditLog::open_with(&other, keyed(&key)).unwrap();
    log.append(json!({"kind": "decision"})).unwrap();
    std::fs::rename(&other, dir.path().join("moved.jsonl")).unwrap();
    let err = log
        .append(json!({"kind": "decision"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("removed or renamed"), "{err}");
    assert!(!other.exists(), "no fresh chain was started in its place");
    let third = dir.path().join("third.jsonl");
    let log = AuditLog::open(&third).unwrap();
    log.append(json!({"kind": "decision"})).unwrap();
    std::fs::remove_file(&third).unwrap();
    std::fs::write(&third, "").unwrap();
    let err = log
        .append(json!({"kind": "decision"}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not start where this chain goes on"),
        "{err}"
    );
}

#[test]
fn a_key_field_added_to_an_unkeyed_record_is_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_records(&path, 3);
    let mut all = lines(&path);
    // Edit the middle record and claim a key for it, keeping its hash:
    // its MAC would go unchecked without the key.
    all[1] = all[1]
        .replace("\"c1\"", "\"cX\"")
        .replacen('{', "{\"key\":\"x\",", 1);
    rewrite(&path, &all);
    let err = verify_file(&path).unwrap_err().to_string();
    assert!(
        err.contains(":2:") && err.contains("not its file's"),
        "{err}"
    );
}
