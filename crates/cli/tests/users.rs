//! Console and API users through the real binary, on each backend: `pumpguard users`
//! adds, lists, changes and removes them (audited, read back with sqlite3/psql through
//! `audit show`'s export); `pumpguard serve` logs them in over HTTP with curl as the
//! client: a token works until revoked, a wrong password is audited and answered 401, a
//! viewer gets 403 on an admin route, repeated failures get 429, and `/metrics` parses
//! with the Prometheus project's own Python parser.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const PASSWORD: &str = "correct horse battery";

/// curl: returns (status, body).
fn curl(args: &[&str], url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.trim().parse().expect("status"), body.to_owned())
}

fn login(base: &str, user: &str, password: &str) -> (u16, String) {
    curl(
        &[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            &serde_json::json!({ "username": user, "password": password }).to_string(),
        ],
        &format!("{base}/api/v1/auth/login"),
    )
}

fn token(base: &str, user: &str) -> String {
    let (code, body) = login(base, user, PASSWORD);
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    v["token"].as_str().expect("token").to_owned()
}

fn bearer(token: &str) -> String {
    format!("authorization: Bearer {token}")
}

fn audit_actions(db: &TestDb, dir: &Path) -> Vec<(String, String)> {
    let file = dir.join("audit.jsonl");
    ok(
        db,
        &["audit", "export", "--out", file.to_str().expect("utf-8")],
    );
    std::fs::read_to_string(&file)
        .expect("export")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some((
                v["action"].as_str()?.to_owned(),
                v["object"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn users_log_in_get_their_role_and_every_change_is_audited_on_each_backend() {
    let dbs = rt().block_on(TestDb::all(
        "users_log_in_get_their_role_and_every_change_is_audited_on_each_backend",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let pw = write(d, "pw", PASSWORD);
        ok(
            db,
            &[
                "users",
                "add",
                "alice",
                "--role",
                "admin",
                "--password-file",
                &pw,
            ],
        );
        ok(
            db,
            &[
                "users",
                "add",
                "bob",
                "--role",
                "viewer",
                "--password-file",
                &pw,
            ],
        );
        // No password given: one is generated and shown once.
        let out = ok(db, &["users", "add", "carol", "--role", "biomed"]);
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        let generated = shown
            .trim()
            .rsplit(' ')
            .next()
            .expect("password shown")
            .to_owned();
        assert_eq!(generated.len(), 20, "{shown}");
        // Refusals: a short password, a bad name, a duplicate.
        let short = write(d, "short", "too short");
        let out = run(
            db,
            &[
                "users",
                "add",
                "dave",
                "--role",
                "viewer",
                "--password-file",
                &short,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("at least 12"), "{}", stderr(&out));
        let out = run(db, &["users", "add", "bad name", "--role", "viewer"]);
        assert_eq!(out.status.code(), Some(2));
        let out = run(
            db,
            &[
                "users",
                "add",
                "alice",
                "--role",
                "viewer",
                "--password-file",
                &pw,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("exists"), "{}", stderr(&out));

        let listed = stdout_json(&ok(db, &["users", "list", "--format", "json"]));
        let roles: Vec<(String, String)> = listed
            .as_array()
            .expect("array")
            .iter()
            .map(|u| {
                (
                    u["username"].as_str().expect("name").to_owned(),
                    u["role"].as_str().expect("role").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            roles,
            [
                ("alice".into(), "admin".into()),
                ("bob".into(), "viewer".into()),
                ("carol".into(), "biomed".into())
            ]
        );
        assert!(!listed.to_string().contains("argon2"), "no hashes listed");

        let server = Served::start(db, &[], &[]);
        let base = server.base.clone();
        let admin = token(&base, "alice");
        let viewer = token(&base, "bob");
        let (code, _) = login(&base, "carol", &generated);
        assert_eq!(code, 200, "the generated password works");

        // Anonymous → 401 with a Bearer challenge; viewer on an admin route → 403.
        let (code, body) = curl(&[], &format!("{base}/api/v1/users"));
        assert_eq!(code, 401, "{body}");
        let (code, body) = curl(&["-H", &bearer(&viewer)], &format!("{base}/api/v1/users"));
        assert_eq!(code, 403, "{body}");
        let (code, body) = curl(&["-H", &bearer(&admin)], &format!("{base}/api/v1/users"));
        assert_eq!(code, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
        assert!(page["next"].is_null());
        let (code, body) = curl(&["-H", &bearer(&viewer)], &format!("{base}/api/v1/auth/me"));
        assert_eq!(code, 200);
        let me: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(me["role"], "viewer");
        assert_eq!(me["permissions"], serde_json::json!(["read"]));

        // A wrong password: 401, audited; five failures for a name → 429.
        let (code, _) = login(&base, "bob", "not the password");
        assert_eq!(code, 401);
        let (code, _) = login(&base, "nobody", "not the password");
        assert_eq!(code, 401, "an unknown name gets the same answer");
        for _ in 0..4 {
            login(&base, "bob", "not the password");
        }
        let (code, body) = login(&base, "bob", PASSWORD);
        assert_eq!(code, 429, "locked out even with the right password: {body}");

        // The admin makes carol an analyst over the API; revoking a token ends it.
        let (code, body) = curl(
            &[
                "-X",
                "PATCH",
                "-H",
                &bearer(&admin),
                "-H",
                "content-type: application/json",
                "-d",
                r#"{"role":"analyst"}"#,
            ],
            &format!("{base}/api/v1/users/carol"),
        );
        assert_eq!(code, 200, "{body}");
        let (code, _) = curl(
            &["-X", "POST", "-H", &bearer(&viewer)],
            &format!("{base}/api/v1/auth/logout"),
        );
        assert_eq!(code, 204);
        let (code, _) = curl(&["-H", &bearer(&viewer)], &format!("{base}/api/v1/auth/me"));
        assert_eq!(code, 401, "a revoked token is refused at once");

        // /metrics: parsed by prometheus_client's OpenMetrics parser.
        let (code, metrics) = curl(&["-H", &bearer(&admin)], &format!("{base}/metrics"));
        assert_eq!(code, 200);
        let file = write(d, "metrics.txt", &metrics);
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n\
                 names = {f.name for f in p(open(sys.argv[1]).read())}\nprint(' '.join(sorted(names)))",
                &file,
            ])
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let names = String::from_utf8_lossy(&out.stdout).into_owned();
        for name in [
            "pumpguard_http_requests",
            "pumpguard_http_request_duration_seconds",
            "pumpguard_alerts",
            "pumpguard_flows",
            "pumpguard_packets",
            "pumpguard_login_failures",
            "pumpguard_vulnerability_findings",
        ] {
            assert!(names.split(' ').any(|n| n == name), "{name} in {names}");
        }
        assert!(
            metrics.contains("pumpguard_http_requests_total{method=\"GET\",route=\"/api/v1/users\",status=\"403\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("pumpguard_login_failures_total 6"),
            "{metrics}"
        );
        drop(server);

        // The CLI side: role change, password change (revokes tokens), removal.
        ok(db, &["users", "set-role", "bob", "analyst"]);
        let tokens = stdout_json(&ok(db, &["users", "tokens", "alice", "--format", "json"]));
        let id = tokens[0]["id"].as_str().expect("token id").to_owned();
        ok(db, &["users", "revoke", &id]);
        let out = run(db, &["users", "revoke", &id]);
        assert_eq!(out.status.code(), Some(2), "revoked twice");
        ok(db, &["users", "passwd", "alice", "--password-file", &pw]);
        ok(db, &["users", "remove", "carol"]);
        let out = run(db, &["users", "remove", "carol"]);
        assert_eq!(out.status.code(), Some(2));

        let actions = audit_actions(db, d);
        let has = |a: &str, o: &str| actions.iter().any(|(x, y)| x == a && y == o);
        for (a, o) in [
            ("user.add", "user:alice"),
            ("user.add", "user:bob"),
            ("auth.login", "user:alice"),
            ("auth.login_failed", "user:bob"),
            ("auth.login_failed", "user:nobody"),
            ("user.role", "user:carol"),
            ("auth.revoke", "user:bob"),
            ("user.role", "user:bob"),
            ("auth.revoke", "user:alice"),
            ("user.password", "user:alice"),
            ("user.remove", "user:carol"),
        ] {
            assert!(has(a, o), "{a} on {o} audited: {actions:?}");
        }
        ok(db, &["audit", "verify"]);
    }
}
