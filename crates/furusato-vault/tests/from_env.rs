//! `Keyring::from_env`. Setting environment variables is `unsafe` in edition 2024
//! (and this workspace forbids unsafe code), so the parent test re-runs this test
//! binary with the variable set and checks the outcome of an ignored child test.

use std::process::Command;

use furusato_vault::{ENV_VAR, Keyring, VaultError};

const KEYS: &str = r#"{"version":1,"active":"k2","keys":{"k1":"1111111111111111111111111111111111111111111111111111111111111111","k2":"2222222222222222222222222222222222222222222222222222222222222222"},"blind_index":{"id":"b1","key":"3333333333333333333333333333333333333333333333333333333333333333"}}"#;

/// Which outcome the child should check; set by the parent.
const MODE: &str = "FURUSATO_VAULT_TEST_MODE";

fn run_child(configure: impl FnOnce(&mut Command)) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "env_child", "--test-threads=1"]);
    configure(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn from_env_reads_the_variable() {
    run_child(|c| {
        c.env(ENV_VAR, KEYS).env(MODE, "set");
    });
}

#[test]
fn from_env_reports_missing_variable() {
    run_child(|c| {
        c.env_remove(ENV_VAR).env(MODE, "unset");
    });
}

#[test]
fn from_env_rejects_bad_json_without_quoting_it() {
    run_child(|c| {
        c.env(
            ENV_VAR,
            KEYS.replace("\"active\":\"k2\"", "\"active\":\"k9\""),
        )
        .env(MODE, "bad");
    });
}

#[test]
#[ignore = "run by the from_env_* tests in a child process with the environment prepared"]
fn env_child() {
    match std::env::var(MODE)
        .expect("run through a from_env_* test")
        .as_str()
    {
        "set" => {
            let k = Keyring::from_env().unwrap();
            assert_eq!(k.active_key_id().as_str(), "k2");
            assert_eq!(k.data_key_ids().count(), 2);
            assert_eq!(k.blind_index_key_id().as_str(), "b1");
            let s = k.seal(b"v", b"a");
            assert_eq!(k.open(&s, b"a").unwrap().as_slice(), b"v");
        }
        "unset" => {
            let err = Keyring::from_env().unwrap_err();
            assert!(matches!(err, VaultError::EnvNotSet(ENV_VAR)), "{err:?}");
        }
        "bad" => {
            let err = Keyring::from_env().unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains(ENV_VAR) && text.contains("k9"), "{text}");
            assert!(
                !text.contains("11111111") && !text.contains("33333333"),
                "{text}"
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
