//! Files we did not write: every file in `../shared/vectors/c2pa/` (the C2PA public test files
//! and c2pa-rs's fixtures) is read and judged exactly as `EXPECTED.c2pa-0.90.22.tsv` says `c2pa`
//! 0.90.22 judges it with trust checks off: the state, the number of manifests and the status
//! codes, or the read error.

use std::collections::BTreeSet;

use sig_share_media::{ReadError, State, read};

#[test]
fn every_c2pa_vector_is_judged_as_expected() {
    let Some(dir) = sig_share_testdata::vectors("c2pa") else { return };
    let expected = std::fs::read_to_string(dir.join("EXPECTED.c2pa-0.90.22.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        let (file, verdict) = (cols.next().unwrap(), cols.next().unwrap());
        let path = dir.join(file);
        let got = read(&path, None, None);
        if let Some(error) = verdict.strip_prefix("ERROR ") {
            match got {
                Err(ReadError::NoManifest) => assert_eq!(error, "no JUMBF data found", "{file}"),
                Err(ReadError::Media(e)) => {
                    assert!(e.to_string().contains(error), "{file}: expected an error with {error:?}, got {e}")
                }
                Ok(r) => panic!("{file}: expected {error:?}, read {:?} with {:?}", r.state, r.failure_codes()),
            }
        } else {
            let report = got.unwrap_or_else(|e| panic!("{file}: {e}"));
            let state = match verdict.strip_prefix("state=").unwrap() {
                "Valid" => State::Valid,
                "Invalid" => State::Invalid,
                other => panic!("{file}: unknown state {other}"),
            };
            assert_eq!(report.state, state, "{file}: {:?}", report.failures);
            let manifests: usize = cols.next().unwrap().strip_prefix("manifests=").unwrap().parse().unwrap();
            assert_eq!(report.manifests.len(), manifests, "{file}");
            let status: Vec<String> =
                serde_json::from_str(cols.next().unwrap().strip_prefix("status=").unwrap()).unwrap();
            // The TSV lists the codes c2pa's top-level validation_status gives (failures, and
            // `signingCredential.untrusted` as the one informational it lists); each must be
            // among what we report, and each failure we report must be in the TSV.
            let ours: BTreeSet<&str> = report
                .failures
                .iter()
                .chain(&report.informational)
                .map(|s| s.code.as_str())
                .chain(report.ingredient_failures.iter().map(|f| f.status.code.as_str()))
                .collect();
            for code in &status {
                assert!(ours.contains(code.as_str()), "{file}: expected {code}, got {ours:?}");
            }
            for failure in &report.failures {
                assert!(status.contains(&failure.code), "{file}: unexpected failure {}", failure.code);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 29, "every vector listed was checked");
}
