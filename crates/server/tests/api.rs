//! The REST API under `/api/v1`, through the whole router: every operation of the
//! OpenAPI document refuses anonymous callers (401) and roles without its scope's
//! permission (403) and lets the others through; the document lists exactly the routes
//! served and validates as OpenAPI 3.1 (openapi-spec-validator as the oracle); and each
//! resource's behaviour: paging, filters, writes and their audit entries, tokens, login
//! limits, CSRF and security headers.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use axum::http::{Method, StatusCode, header};
use common::{EXTRA_PUMPS, Env, SERIAL, VICTIM};
use pumpguard_server::auth::{CSRF_HEADER, LoginKind, Permission, Role, SESSION_COOKIE};
use serde_json::{Value, json};

/// One operation of the document: method, path template, and the permission its
/// security requirement names (`None`: public).
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    scope: Option<Permission>,
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of the document, deletions last (they remove what others use).
fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let requirements = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path}: no security requirement"));
            let mut scopes = BTreeSet::new();
            let mut public = false;
            for r in requirements {
                let r = r.as_object().expect("requirement");
                if r.is_empty() {
                    public = true;
                }
                for (scheme, s) in r {
                    assert!(
                        scheme == "bearer" || scheme == "session",
                        "{method} {path}: unknown scheme {scheme}"
                    );
                    let s = s.as_array().expect("scopes");
                    assert_eq!(s.len(), 1, "{method} {path}: one permission per scheme");
                    scopes.insert(s[0].as_str().expect("scope").to_owned());
                }
            }
            let scope = if public {
                assert!(scopes.is_empty(), "{method} {path}: public and scoped");
                None
            } else {
                assert_eq!(scopes.len(), 1, "{method} {path}: both schemes, one scope");
                let name = scopes.pop_first().expect("scope");
                Some(
                    Permission::parse(&name)
                        .unwrap_or_else(|| panic!("{method} {path}: unknown scope {name}")),
                )
            };
            out.push(Operation {
                method: method.to_uppercase().parse().expect("method"),
                path: path.clone(),
                scope,
            });
        }
    }
    out.sort_by_key(|o| o.method == Method::DELETE);
    out
}

/// The document as served.
async fn document(env: &Env) -> Value {
    let a = env
        .call(Method::GET, pumpguard_server::OPENAPI_PATH, None, None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    a.json()
}

/// A question id of the bank.
async fn question(env: &Env) -> String {
    env.get(Role::Viewer, "/api/v1/assessment/questions?limit=1")
        .await["items"][0]["id"]
        .as_str()
        .expect("question")
        .to_owned()
}

/// The path with its parameters filled with the fixture's ids; `token_id` is a token
/// of the caller's own for `/auth/tokens/{id}`.
fn fill(env: &Env, path: &str, question: &str, token_id: &str) -> String {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in path.split('/') {
        let filled = if segment.starts_with('{') && segment.ends_with('}') {
            match previous {
                "assets" => "PUMP-1".to_owned(),
                "alerts" => env.cleartext_alert.to_string(),
                "certificates" => SERIAL.to_owned(),
                "answers" => question.to_owned(),
                "users" => VICTIM.to_owned(),
                "tokens" => token_id.to_owned(),
                other => panic!("{path}: no fixture id for a parameter after '{other}'"),
            }
        } else {
            segment.to_owned()
        };
        previous = segment;
        out.push(filled);
    }
    out.join("/")
}

fn body_for(method: &Method) -> Option<Value> {
    (*method != Method::GET && *method != Method::DELETE).then(|| json!({}))
}

/// Whether an operation spends the token it is called with (so it gets its own).
fn spends_token(op: &Operation) -> bool {
    op.path == "/api/v1/auth/logout"
}

#[tokio::test]
async fn every_operation_refuses_anonymous_and_roles_without_its_permission() {
    for db in common::databases("api_permissions").await {
        let env = Env::new(db, true).await;
        let doc = document(&env).await;
        let ops = operations(&doc);
        assert!(ops.len() >= 30, "only {} operations", ops.len());
        let question = question(&env).await;
        let mut spare = 10u8;
        for op in &ops {
            let Some(scope) = op.scope else {
                assert_eq!(op.path, "/api/v1/auth/login", "only login is public");
                continue;
            };
            let path = fill(&env, &op.path, &question, "no-such-token");
            let anonymous = env
                .call(op.method.clone(), &path, None, body_for(&op.method))
                .await;
            assert_eq!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "anonymous {} {path}: {}",
                op.method,
                anonymous.text()
            );
            assert!(anonymous.json()["error"].is_string());
            let allowed = scope.roles();
            for role in Role::ALL {
                let (token, token_id) = if spends_token(op)
                    || op.path.contains("{id}") && op.path.contains("/tokens/")
                {
                    spare += 1;
                    env.spare_token(role.as_str(), spare).await
                } else {
                    (env.token(role).to_owned(), String::new())
                };
                let path = fill(&env, &op.path, &question, &token_id);
                let a = env
                    .call(op.method.clone(), &path, Some(&token), body_for(&op.method))
                    .await;
                if allowed.contains(&role) {
                    assert!(
                        a.status != StatusCode::UNAUTHORIZED && a.status != StatusCode::FORBIDDEN,
                        "{} {} {path} (needs {}): {} {}",
                        role.as_str(),
                        op.method,
                        scope.as_str(),
                        a.status,
                        a.text()
                    );
                } else {
                    assert_eq!(
                        a.status,
                        StatusCode::FORBIDDEN,
                        "{} {} {path} (needs {}): {}",
                        role.as_str(),
                        op.method,
                        scope.as_str(),
                        a.text()
                    );
                    assert!(a.json()["error"].is_string());
                }
            }
        }
    }
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_served() {
    let db = pumpguard_testkit::TestDb::sqlite();
    let env = Env::new(db, true).await;
    let doc = document(&env).await;
    // The document served is the one the routes were collected into.
    let (_, built) = pumpguard_server::api::router_and_document();
    let built = serde_json::to_value(&built).expect("document");
    assert_eq!(doc, built, "the served document is the routers' document");
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for p in &paths {
        assert!(p.starts_with("/api/v1/"), "{p} is outside /api/v1");
    }
    // What the issue asks for at least.
    for p in [
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/assets",
        "/api/v1/assets/{id}",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}/ack",
        "/api/v1/alerts/{id}/resolve",
        "/api/v1/flows",
        "/api/v1/sensors",
        "/api/v1/vulnerabilities",
        "/api/v1/findings",
        "/api/v1/assessment/questions",
        "/api/v1/assessment/answers",
        "/api/v1/assessment/risks",
        "/api/v1/reports/assessment",
        "/api/v1/policy/violations",
        "/api/v1/certificates",
        "/api/v1/audit/verify",
    ] {
        assert!(paths.contains(p), "{p} is missing from the document");
    }
    // Every documented operation is served (a route the router lacks answers 404 or
    // 405 with an empty body; a handler's own 404 is JSON).
    let question = question(&env).await;
    let mut spare = 100u8;
    for op in operations(&doc) {
        let (token, token_id) = if spends_token(&op) || op.path.starts_with("/api/v1/auth/tokens/")
        {
            spare += 1;
            env.spare_token("admin", spare).await
        } else {
            (env.token(Role::Admin).to_owned(), String::new())
        };
        let path = fill(&env, &op.path, &question, &token_id);
        let a = env
            .call(op.method.clone(), &path, Some(&token), body_for(&op.method))
            .await;
        assert!(
            a.status != StatusCode::NOT_FOUND && a.status != StatusCode::METHOD_NOT_ALLOWED,
            "{} {path}: {} {}",
            op.method,
            a.status,
            a.text()
        );
    }
    // And nothing else: no method the document does not list is served on its paths.
    let admin = env.token(Role::Admin).to_owned();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let filled = fill(&env, path, &question, "x");
        for m in METHODS {
            if item.get(m).is_some() {
                continue;
            }
            let method: Method = m.to_uppercase().parse().expect("method");
            let a = env
                .call(method.clone(), &filled, Some(&admin), body_for(&method))
                .await;
            assert_eq!(
                a.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{m} {path} is served but not documented: {}",
                a.text()
            );
        }
    }
    // Every API route goes through utoipa-axum's `routes!` (which documents it): no
    // plain axum `.route(` in the API's sources, and none under /api in the server's.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(src.join("api"))
        .expect("api sources")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "api sources: {files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).expect("source");
        assert!(
            !text.contains(".route("),
            "{}: registers a route outside routes!(…)",
            f.display()
        );
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    for line in lib.lines().filter(|l| l.contains(".route(")) {
        assert!(!line.contains("\"/api"), "lib.rs: {line}");
    }
}

#[tokio::test]
async fn the_document_validates_as_openapi_3_1() {
    let (_, doc) = pumpguard_server::api::router_and_document();
    let doc = serde_json::to_value(&doc).expect("document");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "openapi: {}",
        doc["openapi"]
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let script = "import json, sys\n\
        from openapi_spec_validator import validate\n\
        from openapi_spec_validator.versions.shortcuts import get_spec_version\n\
        spec = json.load(open(sys.argv[1]))\n\
        validate(spec)\n\
        print(get_spec_version(spec))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 is not installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'openapi_spec_validator'"),
        "the oracle is not installed: python3 -m pip install openapi-spec-validator==0.7.1"
    );
    assert!(
        out.status.success(),
        "the document does not validate: {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "OpenAPIV3.1",
        "the validator read it as another version"
    );
}

#[tokio::test]
async fn assets_page_in_the_database_and_filter() {
    for db in common::databases("api_assets").await {
        let env = Env::new(db, true).await;
        let all = env.all_pages("/api/v1/assets", 7).await;
        let ids: Vec<&str> = all
            .iter()
            .map(|a| a["asset_id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids.len(), EXTRA_PUMPS + 3);
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "by asset id");
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>().len(),
            ids.len(),
            "no repeats"
        );
        let first = env.get(Role::Viewer, "/api/v1/assets?limit=1000").await;
        assert!(first["next"].is_null());
        let ids_of = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|a| a["asset_id"].as_str().expect("id").to_owned())
                .collect()
        };
        for (query, want) in [
            ("kind=pump_server", vec!["SRV-1"]),
            ("vendor=smiths%20medical&kind=infusion_pump", vec!["PUMP-1"]),
            ("model=MEDFUSION%204000", vec!["PUMP-1"]),
            ("criticality=life_sustaining", vec!["PUMP-1"]),
            ("zone=pump_servers", vec!["SRV-1"]),
            ("q=srv", vec!["SRV-1"]),
            ("q=10.20.0.12", vec!["PUMP-2"]),
            ("q=medfusion", vec!["PUMP-1"]),
            // LIKE's wildcards are taken literally.
            ("q=5%25", vec![]),
            ("q=_1", vec![]),
            ("q=100%25_DONE&limit=2", vec!["PUMP-100", "PUMP-101"]),
            ("lifecycle=retired", vec![]),
            ("source=discovered", vec![]),
        ] {
            let page = env
                .get(Role::Viewer, &format!("/api/v1/assets?{query}"))
                .await;
            assert_eq!(ids_of(&page), want, "{query}");
        }
        // Bad values are 400s that name the parameter.
        for (query, name) in [
            ("kind=toaster", "kind"),
            ("lifecycle=lost", "lifecycle"),
            ("criticality=extreme", "criticality"),
            ("source=rumour", "source"),
            ("mac=zz", "mac"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("offset=-1", "offset"),
        ] {
            let a = env
                .call(
                    Method::GET,
                    &format!("/api/v1/assets?{query}"),
                    Some(env.token(Role::Viewer)),
                    None,
                )
                .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
            let error = a.json()["error"].as_str().expect("error").to_owned();
            assert!(error.contains(name), "{query}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
        // One asset, with its evidence and history.
        let one = env.get(Role::Viewer, "/api/v1/assets/PUMP-1").await;
        assert_eq!(one["asset"]["model"], "Medfusion 4000");
        assert!(one["evidence"].is_array());
        assert_eq!(one["history"][0]["action"], "asset.create");
        let missing = env
            .call(
                Method::GET,
                "/api/v1/assets/NOPE",
                Some(env.token(Role::Viewer)),
                None,
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(
            missing.json()["error"]
                .as_str()
                .expect("error")
                .contains("NOPE")
        );
        // What hangs off it.
        let flows = env.get(Role::Viewer, "/api/v1/assets/PUMP-1/flows").await;
        assert_eq!(flows["items"].as_array().expect("flows").len(), 2);
        let alerts = env.get(Role::Viewer, "/api/v1/assets/PUMP-1/alerts").await;
        assert_eq!(alerts["items"][0]["id"], env.cleartext_alert);
        let vulns = env
            .get(
                Role::Viewer,
                "/api/v1/assets/PUMP-1/vulnerabilities?limit=1000",
            )
            .await;
        let cves: BTreeSet<&str> = vulns["items"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["cve"].as_str().expect("cve"))
            .collect();
        assert!(cves.contains("CVE-2017-12718"), "{cves:?}");
        let certs = env
            .get(Role::Viewer, "/api/v1/assets/PUMP-1/certificates")
            .await;
        assert_eq!(certs["items"][0]["serial"], SERIAL);
        assert_eq!(certs["items"][0]["state"], "valid");
    }
}

#[tokio::test]
async fn lifecycle_changes_are_audited_and_retiring_revokes() {
    for db in common::databases("api_lifecycle").await {
        let env = Env::new(db, true).await;
        let biomed = env.token(Role::Biomed).to_owned();
        // The listing is kept for a second (crate::cache); a change through the server
        // must show at once in it all the same.
        let state_in_list = |page: &Value| {
            page["items"]
                .as_array()
                .and_then(|i| i.iter().find(|a| a["asset_id"] == "PUMP-2"))
                .map(|a| a["lifecycle"].clone())
        };
        let listed = env.get(Role::Viewer, "/api/v1/assets?limit=1000").await;
        assert_eq!(state_in_list(&listed), Some(json!("in_service")));
        let a = env
            .call(
                Method::PATCH,
                "/api/v1/assets/PUMP-2",
                Some(&biomed),
                Some(json!({ "lifecycle": "quarantined", "reason": "investigating" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let v = a.json();
        assert_eq!(v["from"], "in_service");
        assert_eq!(v["changed"], true);
        assert_eq!(v["asset"]["lifecycle"], "quarantined");
        let listed = env.get(Role::Viewer, "/api/v1/assets?limit=1000").await;
        assert_eq!(state_in_list(&listed), Some(json!("quarantined")));
        let history = env
            .state
            .store
            .audit_for_object("asset:PUMP-2")
            .await
            .expect("history");
        let last = history.last().expect("entry");
        assert_eq!(last.action, "asset.lifecycle");
        assert_eq!(last.actor, "user:biomed");
        assert_eq!(last.detail["reason"], "investigating");
        // Retiring revokes the asset's certificate in the same change.
        let a = env
            .call(
                Method::PATCH,
                "/api/v1/assets/PUMP-1",
                Some(&biomed),
                Some(json!({ "lifecycle": "retired" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.json()["revoked"], json!([SERIAL]));
        let cert = env
            .get(Role::Viewer, &format!("/api/v1/certificates/{SERIAL}"))
            .await;
        assert_eq!(cert["state"], "revoked");
        assert_eq!(cert["reason"], "cessation-of-operation");
        // Retired is final; a bad state and a missing one are 400s.
        for body in [
            json!({ "lifecycle": "in_service" }),
            json!({ "lifecycle": "lost" }),
            json!({}),
        ] {
            let a = env
                .call(
                    Method::PATCH,
                    "/api/v1/assets/PUMP-1",
                    Some(&biomed),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
            assert!(
                a.json()["error"]
                    .as_str()
                    .expect("error")
                    .contains("lifecycle")
            );
        }
        let a = env
            .call(
                Method::PATCH,
                "/api/v1/assets/NOPE",
                Some(&biomed),
                Some(json!({ "lifecycle": "retired" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        // Only JSON is read.
        let a = env
            .send(
                Method::PATCH,
                "/api/v1/assets/PUMP-2",
                &[
                    (header::AUTHORIZATION, format!("Bearer {biomed}")),
                    (header::CONTENT_TYPE, "text/plain".into()),
                ],
                Some(json!({ "lifecycle": "in_service" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.text());
    }
}

#[tokio::test]
async fn alerts_filter_and_their_triage_is_audited() {
    for db in common::databases("api_alerts").await {
        let env = Env::new(db, true).await;
        let ids = |v: &Value| -> Vec<i64> {
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|a| a["id"].as_i64().expect("id"))
                .collect()
        };
        let all = env.get(Role::Viewer, "/api/v1/alerts").await;
        assert_eq!(ids(&all), vec![env.cleartext_alert, env.violation_alert]);
        let high = env.get(Role::Viewer, "/api/v1/alerts?severity=high").await;
        assert_eq!(ids(&high), vec![env.cleartext_alert]);
        let kind = env
            .get(Role::Viewer, "/api/v1/alerts?kind=policy_violation")
            .await;
        assert_eq!(ids(&kind), vec![env.violation_alert]);
        let by_asset = env.get(Role::Viewer, "/api/v1/alerts?asset=PUMP-2").await;
        assert_eq!(ids(&by_asset), vec![env.violation_alert]);
        let paged = env.all_pages("/api/v1/alerts", 1).await;
        assert_eq!(paged.len(), 2);
        for (query, name) in [
            ("severity=dire", "severity"),
            ("status=closed", "status"),
            ("kind=nope", "kind"),
            ("since=yesterday", "since"),
        ] {
            let a = env
                .call(
                    Method::GET,
                    &format!("/api/v1/alerts?{query}"),
                    Some(env.token(Role::Viewer)),
                    None,
                )
                .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
            assert!(
                a.json()["error"].as_str().expect("error").contains(name),
                "{query}"
            );
        }
        // Acknowledge with a note, then resolve without one.
        let id = env.cleartext_alert;
        let analyst = env.token(Role::Analyst).to_owned();
        let a = env
            .call(
                Method::POST,
                &format!("/api/v1/alerts/{id}/ack"),
                Some(&analyst),
                Some(json!({ "note": "looking into it" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.json()["status"], "acknowledged");
        let a = env
            .call(
                Method::POST,
                &format!("/api/v1/alerts/{id}/resolve"),
                Some(&analyst),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.json()["status"], "resolved");
        let open = env.get(Role::Viewer, "/api/v1/alerts?status=open").await;
        assert_eq!(ids(&open), vec![env.violation_alert]);
        // Audited by the store, as the caller, newest first through the API.
        let history = env
            .state
            .store
            .audit_for_object(&format!("alert:{id}"))
            .await
            .expect("history");
        let actions: Vec<(&str, &str)> = history
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        assert!(
            actions.contains(&("alert.ack", "user:analyst")),
            "{actions:?}"
        );
        assert!(
            actions.contains(&("alert.resolve", "user:analyst")),
            "{actions:?}"
        );
        let ack = history
            .iter()
            .find(|e| e.action == "alert.ack")
            .expect("ack");
        assert_eq!(ack.detail["note"], "looking into it");
        let trail = env
            .get(Role::Viewer, &format!("/api/v1/audit?object=alert:{id}"))
            .await;
        let seqs: Vec<u64> = trail["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["seq"].as_u64().expect("seq"))
            .collect();
        assert!(
            seqs.len() >= 2 && seqs.windows(2).all(|w| w[0] > w[1]),
            "{seqs:?}"
        );
        assert_eq!(trail["items"][0]["action"], "alert.resolve");
        let by_actor = env
            .get(
                Role::Viewer,
                "/api/v1/audit?actor=user:analyst&action=alert.ack",
            )
            .await;
        assert_eq!(by_actor["items"].as_array().expect("items").len(), 1);
        let detail = env.get(Role::Viewer, &format!("/api/v1/alerts/{id}")).await;
        assert_eq!(detail["alert"]["status"], "resolved");
        assert!(detail["history"].as_array().expect("history").len() >= 3);
        for (path, status) in [
            ("/api/v1/alerts/999999/ack", StatusCode::NOT_FOUND),
            ("/api/v1/alerts/x/ack", StatusCode::BAD_REQUEST),
        ] {
            let a = env.call(Method::POST, path, Some(&analyst), None).await;
            assert_eq!(a.status, status, "{path}: {}", a.text());
        }
        // The whole trail pages until the end and verifies.
        let entries = env.all_pages("/api/v1/audit", 50).await;
        assert_eq!(entries[0]["seq"].as_u64(), Some(entries.len() as u64));
        let verdict = env.get(Role::Viewer, "/api/v1/audit/verify").await;
        assert_eq!(verdict["ok"], true, "{verdict}");
        assert_eq!(verdict["entries"].as_u64(), Some(entries.len() as u64));
    }
}

#[tokio::test]
async fn flows_filter_and_page() {
    for db in common::databases("api_flows").await {
        let env = Env::new(db, true).await;
        assert_eq!(env.all_pages("/api/v1/flows", 2).await.len(), 3);
        let hl7 = env.get(Role::Viewer, "/api/v1/flows?app=hl7").await;
        assert_eq!(hl7["items"].as_array().expect("items").len(), 2);
        let one = env.get(Role::Viewer, "/api/v1/flows?ip=10.99.0.7").await;
        assert_eq!(one["items"][0]["app"], "telnet");
        let udp = env.get(Role::Viewer, "/api/v1/flows?proto=udp").await;
        assert_eq!(udp["items"], json!([]));
        let a = env
            .call(
                Method::GET,
                "/api/v1/flows?ip=10.0.0",
                Some(env.token(Role::Viewer)),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(
            a.json()["error"]
                .as_str()
                .expect("error")
                .starts_with("ip:")
        );
    }
}

/// `/metrics` as python prometheus_client's OpenMetrics parser reads it: every sample
/// of the `pumpguard_sensor_*` families as `name{sensor} value` lines, sorted.
fn sensor_samples(metrics: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, metrics).expect("write");
    let script = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n\
        for f in p(open(sys.argv[1]).read()):\n\
        \x20   for s in f.samples:\n\
        \x20       if s.name.startswith('pumpguard_sensor_'):\n\
        \x20           print(f\"{f.type} {s.name}{{{s.labels.get('sensor')}}} {s.value}\")\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 is not installed");
    assert!(
        out.status.success(),
        "/metrics does not parse: {}\n{metrics}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn sensors_list_with_their_status_and_metrics() {
    for db in common::databases("api_sensors").await {
        let env = Env::new(db, true).await;
        let empty = env.get(Role::Viewer, "/api/v1/sensors").await;
        assert_eq!(empty, json!({ "items": [], "next": null }));
        let store = &env.state.store;
        for name in ["s1", "s2"] {
            store
                .sensor_add("test", name, "$2a$04$not.a.real.hash")
                .await
                .expect("sensor");
        }
        let sent = pumpguard_model::time::now() - jiff::SignedDuration::from_secs(2);
        let summary = store
            .ingest(
                "test",
                &[pumpguard_store::SensorMessage {
                    id: "s1.run.1".into(),
                    sensor: "s1".into(),
                    run: "run".into(),
                    sent,
                    ..Default::default()
                }],
            )
            .await
            .expect("ingest");
        assert_eq!(summary.verdicts, vec![pumpguard_store::Verdict::Applied]);

        let sensors = env.all_pages("/api/v1/sensors", 1).await;
        assert_eq!(sensors.len(), 2, "{sensors:?}");
        let s1 = sensors.iter().find(|s| s["name"] == "s1").expect("s1");
        let s2 = sensors.iter().find(|s| s["name"] == "s2").expect("s2");
        assert_eq!(s1["status"], "ok", "{s1}");
        assert_eq!(s1["messages"], 1, "{s1}");
        assert_eq!(s1["observations"], 0, "{s1}");
        assert_eq!(s1["last_run"], "run", "{s1}");
        let lag = s1["lag_ms"].as_i64().expect("lag_ms");
        assert!((0..60_000).contains(&lag), "{s1}");
        assert!(lag >= 1_900, "sent 2 s before the ingest: {s1}");
        let since = s1["seconds_since_contact"].as_i64().expect("seconds");
        assert!((0..60).contains(&since), "{s1}");
        for field in ["created", "last_contact", "last_sent"] {
            let t = s1[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field}: {s1}"));
            t.parse::<jiff::Timestamp>()
                .unwrap_or_else(|e| panic!("{field} is not RFC 3339 ({e}): {s1}"));
        }
        let sent_back: jiff::Timestamp = s1["last_sent"].as_str().expect("t").parse().expect("t");
        assert_eq!(sent_back, sent);
        assert_eq!(s2["status"], "never", "{s2}");
        assert_eq!(s2["messages"], 0, "{s2}");
        for field in [
            "last_contact",
            "last_sent",
            "lag_ms",
            "seconds_since_contact",
            "last_run",
        ] {
            assert!(s2[field].is_null(), "{field}: {s2}");
        }
        assert!(
            s2["nats_password_hash"].is_null(),
            "the hash stays in: {s2}"
        );
        assert!(
            !env.call(
                Method::GET,
                "/api/v1/sensors",
                Some(env.token(Role::Viewer)),
                None
            )
            .await
            .text()
            .contains("$2a$")
        );
        let a = env
            .call(
                Method::GET,
                "/api/v1/sensors?limit=0",
                Some(env.token(Role::Viewer)),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(a.json()["error"].is_string());

        // /metrics: per sensor, lag and contact age only for the one heard from.
        let metrics = env
            .call(Method::GET, "/metrics", Some(env.token(Role::Viewer)), None)
            .await;
        assert_eq!(metrics.status, StatusCode::OK);
        let text = metrics.text();
        let samples = sensor_samples(&text);
        let value = |prefix: &str| -> f64 {
            let line = samples
                .iter()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix} in {samples:?}"));
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("value")
        };
        let lag_s = value("gauge pumpguard_sensor_lag_seconds{s1} ");
        assert!((lag_s - lag as f64 / 1000.0).abs() < 1e-9, "{samples:?}");
        let age = value("gauge pumpguard_sensor_last_contact_age_seconds{s1} ");
        assert!((0.0..60.0).contains(&age), "{samples:?}");
        assert_eq!(value("counter pumpguard_sensor_messages_total{s1} "), 1.0);
        assert_eq!(value("counter pumpguard_sensor_messages_total{s2} "), 0.0);
        assert_eq!(
            value("counter pumpguard_sensor_observations_total{s2} "),
            0.0
        );
        assert!(
            !samples
                .iter()
                .any(|l| l.contains("{s2}") && l.contains("seconds")),
            "no lag or contact age for a sensor never heard from: {samples:?}"
        );
        // A second scrape says the same (the counters are refilled, not added to).
        let again = env
            .call(Method::GET, "/metrics", Some(env.token(Role::Viewer)), None)
            .await;
        assert!(
            again
                .text()
                .contains("pumpguard_sensor_messages_total{sensor=\"s1\"} 1\n"),
            "{}",
            again.text()
        );
    }
}

#[tokio::test]
async fn vulnerabilities_findings_and_triage() {
    for db in common::databases("api_vulns").await {
        let env = Env::new(db, true).await;
        let vulns = env.all_pages("/api/v1/vulnerabilities", 3).await;
        let v = vulns
            .iter()
            .find(|v| v["cve"] == "CVE-2017-12718")
            .expect("CVE-2017-12718 listed");
        assert!(v["score"].as_f64().is_some(), "{v}");
        let scored = env
            .get(
                Role::Viewer,
                "/api/v1/vulnerabilities?min_score=9.5&limit=1000",
            )
            .await;
        for v in scored["items"].as_array().expect("items") {
            assert!(v["score"].as_f64().expect("score") >= 9.5);
        }
        // Findings from the cache; the metric shows the match ran.
        let findings = env.all_pages("/api/v1/findings?asset=PUMP-1", 2).await;
        assert!(!findings.is_empty());
        assert!(findings.iter().all(|f| f["asset_id"] == "PUMP-1"));
        let metrics = env
            .call(Method::GET, "/metrics", Some(env.token(Role::Viewer)), None)
            .await;
        let line = metrics
            .text()
            .lines()
            .find(|l| l.starts_with("pumpguard_vulnerable_assets "))
            .map(str::to_owned)
            .expect("metric");
        assert_eq!(line, "pumpguard_vulnerable_assets 1");
        let by_priority = env
            .get(Role::Viewer, "/api/v1/findings?sort=priority&limit=1000")
            .await;
        let priorities: Vec<f64> = by_priority["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|f| f["priority"]["value"].as_f64().expect("priority"))
            .collect();
        assert!(
            priorities.windows(2).all(|w| w[0] >= w[1]),
            "{priorities:?}"
        );
        let groups = env.get(Role::Viewer, "/api/v1/findings/by-model").await;
        let medfusion = groups["items"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["model"] == "Medfusion 4000")
            .expect("group");
        assert_eq!(medfusion["firmware"], "1.5");
        assert_eq!(medfusion["assets"], 1);
        assert!(medfusion["cves"].as_u64().expect("cves") >= 1);
        for query in [
            "status=broken",
            "sort=name",
            "min_priority=high",
            "kev=maybe",
        ] {
            let a = env
                .call(
                    Method::GET,
                    &format!("/api/v1/findings?{query}"),
                    Some(env.token(Role::Viewer)),
                    None,
                )
                .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
            let error = a.json()["error"].as_str().expect("error").to_owned();
            assert!(
                error.starts_with(query.split('=').next().expect("name")),
                "{error}"
            );
        }
        // Triage: the next findings say so at once.
        let cve_path = "/api/v1/findings?asset=PUMP-1&cve=cve-2017-12718";
        let before = env.get(Role::Viewer, cve_path).await;
        assert_ne!(before["items"][0]["status"], "not_affected");
        let a = env
            .call(
                Method::POST,
                "/api/v1/triage",
                Some(env.token(Role::Analyst)),
                Some(json!({
                    "model": "Medfusion 4000",
                    "firmware": "1.5",
                    "cve": "cve-2017-12718",
                    "status": "not_affected",
                    "justification": "inline_mitigations_already_exist",
                    "note": "the wireless module is disabled",
                })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let v = a.json();
        assert_eq!(v["applies_to"], 1);
        assert_eq!(v["decision"]["cve"], "CVE-2017-12718");
        assert_eq!(v["decision"]["actor"], "user:analyst");
        let after = env.get(Role::Viewer, cve_path).await;
        assert_eq!(after["items"][0]["status"], "not_affected", "{after}");
        let trail = env
            .get(Role::Viewer, "/api/v1/audit?action=vuln.triage")
            .await;
        assert_eq!(trail["items"][0]["actor"], "user:analyst");
        for (body, name) in [
            (
                json!({"model": "M", "cve": "CVE-1", "status": "broken"}),
                "status",
            ),
            (
                json!({"model": "M", "cve": "CVE-1", "status": "not_affected", "justification": "because"}),
                "justification",
            ),
            (
                json!({"model": " ", "cve": "CVE-1", "status": "fixed"}),
                "model",
            ),
            (json!({"cve": "CVE-1", "status": "fixed"}), "model"),
        ] {
            let a = env
                .call(
                    Method::POST,
                    "/api/v1/triage",
                    Some(env.token(Role::Analyst)),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                a.json()["error"].as_str().expect("error").contains(name),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn assessment_answers_and_risks() {
    for db in common::databases("api_assessment").await {
        let env = Env::new(db, true).await;
        let questions = env.all_pages("/api/v1/assessment/questions", 40).await;
        assert!(questions.len() > 40, "{} questions", questions.len());
        let id = questions[0]["id"].as_str().expect("id").to_owned();
        let a = env
            .call(
                Method::PUT,
                &format!("/api/v1/assessment/answers/{id}"),
                Some(env.token(Role::Analyst)),
                Some(json!({ "answer": "partial", "note": "two wards of five" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.json()["previous"], Value::Null);
        let a = env
            .call(
                Method::PUT,
                &format!("/api/v1/assessment/answers/{id}"),
                Some(env.token(Role::Analyst)),
                Some(json!({ "answer": "yes" })),
            )
            .await;
        assert_eq!(a.json()["previous"], "partial");
        let trail = env
            .state
            .store
            .audit_for_object(&format!("question:{id}"))
            .await
            .expect("trail");
        assert!(
            trail
                .iter()
                .any(|e| e.action == "assess.answer" && e.actor == "user:analyst"),
            "{trail:?}"
        );
        // The register runs the evidence rules; their answers are then listed too.
        let register = env.get(Role::Viewer, "/api/v1/assessment/risks").await;
        assert!(!register["risks"].as_array().expect("risks").is_empty());
        assert!(register["sp1800_8"].is_object());
        let answers = env.all_pages("/api/v1/assessment/answers", 100).await;
        assert_eq!(answers.len(), questions.len());
        let mine = answers
            .iter()
            .find(|a| a["question_id"] == id.as_str())
            .expect("row");
        assert_eq!(mine["answer"], "yes");
        assert_eq!(mine["source"], "person");
        assert_eq!(mine["human"]["actor"], "user:analyst");
        assert!(
            answers.iter().any(|a| a["evidence"].is_object()),
            "some evidence answers"
        );
        let evidence_trail = env
            .get(Role::Viewer, "/api/v1/audit?action=assess.evidence&limit=1")
            .await;
        assert_eq!(evidence_trail["items"][0]["actor"], "user:viewer");
        for (path, body, status) in [
            (
                format!("/api/v1/assessment/answers/{id}"),
                json!({"answer": "maybe"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/api/v1/assessment/answers/NOPE-1".to_owned(),
                json!({"answer": "yes"}),
                StatusCode::NOT_FOUND,
            ),
        ] {
            let a = env
                .call(
                    Method::PUT,
                    &path,
                    Some(env.token(Role::Analyst)),
                    Some(body),
                )
                .await;
            assert_eq!(a.status, status, "{path}: {}", a.text());
        }
    }
}

#[tokio::test]
async fn reports_come_as_files() {
    let env = Env::new(pumpguard_testkit::TestDb::sqlite(), true).await;
    let viewer = env.token(Role::Viewer).to_owned();
    for (format, media, magic) in [
        ("json", "application/json", &b"{"[..]),
        ("html", "text/html; charset=utf-8", &b"<!doctype html>"[..]),
        ("md", "text/markdown; charset=utf-8", &b"#"[..]),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &b"PK"[..],
        ),
    ] {
        let a = env
            .call(
                Method::GET,
                &format!("/api/v1/reports/assessment?format={format}&title=Ward%203"),
                Some(&viewer),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{format}: {}", a.text());
        assert_eq!(a.header(header::CONTENT_TYPE), media);
        let disposition = a.header(header::CONTENT_DISPOSITION);
        assert!(
            disposition.starts_with("attachment; filename=\"pumpguard-assessment-")
                && disposition.ends_with(&format!(".{format}\"")),
            "{disposition}"
        );
        assert!(
            a.body.starts_with(magic),
            "{format}: {}",
            String::from_utf8_lossy(&a.body[..a.body.len().min(80)])
        );
        if format == "json" {
            assert_eq!(a.json()["title"], "Ward 3");
        }
    }
    let a = env
        .call(
            Method::GET,
            "/api/v1/reports/assessment?format=pdf",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json()["error"]
            .as_str()
            .expect("error")
            .starts_with("format:")
    );
}

#[tokio::test]
async fn policy_and_its_violations() {
    let env = Env::new(pumpguard_testkit::TestDb::sqlite(), true).await;
    let policy = env.get(Role::Viewer, "/api/v1/policy").await;
    assert_eq!(policy["zones"][0]["name"], "pumps");
    assert_eq!(policy["default"], "deny");
    let v = env.get(Role::Viewer, "/api/v1/policy/violations").await;
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["alert"]["id"], env.violation_alert);
    assert_eq!(items[0]["client_zone"], "pumps");
    assert_eq!(items[0]["server_zone"], Value::Null);
    // Without a policy: the violations still list, without zones; the policy is a 404
    // that says how to load one.
    let bare = Env::new(pumpguard_testkit::TestDb::sqlite(), false).await;
    let a = bare
        .call(
            Method::GET,
            "/api/v1/policy",
            Some(bare.token(Role::Viewer)),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(
        a.json()["error"]
            .as_str()
            .expect("error")
            .contains("--policy")
    );
    let v = bare.get(Role::Viewer, "/api/v1/policy/violations").await;
    assert_eq!(v["items"][0]["client_zone"], Value::Null);
}

#[tokio::test]
async fn certificates_list_with_state_and_revoke() {
    for db in common::databases("api_pki").await {
        let env = Env::new(db, true).await;
        let list = env.get(Role::Viewer, "/api/v1/certificates").await;
        assert_eq!(list["items"][0]["serial"], SERIAL);
        assert_eq!(list["items"][0]["state"], "valid");
        assert!(list["items"][0].get("pem").is_none(), "no PEM in lists");
        let none = env
            .get(Role::Viewer, "/api/v1/certificates?state=revoked")
            .await;
        assert_eq!(none["items"], json!([]));
        // Any common form of the serial finds it.
        let colons: Vec<String> = SERIAL
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).to_uppercase())
            .collect();
        let one = env
            .get(
                Role::Viewer,
                &format!("/api/v1/certificates/{}", colons.join(":")),
            )
            .await;
        assert!(
            one["pem"]
                .as_str()
                .expect("pem")
                .contains("BEGIN CERTIFICATE")
        );
        let admin = env.token(Role::Admin).to_owned();
        let path = format!("/api/v1/certificates/{SERIAL}/revoke");
        let a = env
            .call(
                Method::POST,
                &path,
                Some(&admin),
                Some(json!({ "reason": "stolen" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(
            a.json()["error"]
                .as_str()
                .expect("error")
                .starts_with("reason:")
        );
        let a = env
            .call(
                Method::POST,
                &path,
                Some(&admin),
                Some(json!({ "reason": "key-compromise" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(a.json()["state"], "revoked");
        let a = env
            .call(
                Method::POST,
                &path,
                Some(&admin),
                Some(json!({ "reason": "key-compromise" })),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "revoked already");
        let revoked = env
            .get(Role::Viewer, "/api/v1/certificates?state=revoked")
            .await;
        assert_eq!(revoked["items"][0]["reason"], "key-compromise");
        let trail = env
            .get(
                Role::Viewer,
                &format!("/api/v1/audit?object=certificate:{SERIAL}"),
            )
            .await;
        assert_eq!(trail["items"][0]["action"], "pki.revoke");
        assert_eq!(trail["items"][0]["actor"], "user:admin");
        for (p, status) in [
            ("/api/v1/certificates/zz", StatusCode::BAD_REQUEST),
            ("/api/v1/certificates/00ff", StatusCode::NOT_FOUND),
        ] {
            let a = env.call(Method::GET, p, Some(&admin), None).await;
            assert_eq!(a.status, status, "{p}");
        }
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let env = Env::new(pumpguard_testkit::TestDb::sqlite(), false).await;
    let token = env.login("analyst").await;
    let me = env
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let id = me.json()["token"].as_str().expect("id").to_owned();
    let a = env
        .call(
            Method::DELETE,
            &format!("/api/v1/auth/tokens/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text());
    let a = env
        .call(Method::GET, "/api/v1/assets", Some(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.header(header::WWW_AUTHENTICATE).starts_with("Bearer"));
    // Logging out spends the token too.
    let token = env.login("analyst").await;
    let a = env
        .call(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = env
        .call(Method::GET, "/api/v1/alerts", Some(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A made-up token is no better than none.
    let a = env
        .call(Method::GET, "/api/v1/alerts", Some("pgt_nope"), None)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logins_are_rate_limited() {
    let env = Env::new(pumpguard_testkit::TestDb::sqlite(), false).await;
    let wrong = json!({ "username": "viewer", "password": "not the password" });
    for _ in 0..5 {
        let a = env
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(wrong.clone()),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = env
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(wrong.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text());
    assert!(!a.header(header::RETRY_AFTER).is_empty());
    // Even the right password waits now.
    let right = json!({ "username": "viewer", "password": common::PASSWORD });
    let a = env
        .call(Method::POST, "/api/v1/auth/login", None, Some(right))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let failures = env
        .get(
            Role::Viewer,
            "/api/v1/audit?action=auth.login_failed&limit=1000",
        )
        .await;
    assert_eq!(failures["items"].as_array().expect("items").len(), 5);
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token() {
    let env = Env::new(pumpguard_testkit::TestDb::sqlite(), false).await;
    let session = pumpguard_server::auth::login(
        &env.state,
        "analyst",
        common::PASSWORD,
        LoginKind::Session,
        None,
        "console",
    )
    .await
    .expect("session");
    let cookie = (
        header::COOKIE,
        format!("{SESSION_COOKIE}={}", session.secret),
    );
    let path = format!("/api/v1/alerts/{}/ack", env.cleartext_alert);
    let a = env
        .send(
            Method::POST,
            &path,
            std::slice::from_ref(&cookie),
            Some(json!({})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text());
    assert!(a.json()["error"].as_str().expect("error").contains("CSRF"));
    let a = env
        .send(
            Method::POST,
            &path,
            &[
                cookie.clone(),
                (CSRF_HEADER.parse().expect("name"), "wrong".into()),
            ],
            Some(json!({})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = env
        .send(
            Method::POST,
            &path,
            &[
                cookie.clone(),
                (
                    CSRF_HEADER.parse().expect("name"),
                    session.token.csrf.clone(),
                ),
            ],
            Some(json!({})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["status"], "acknowledged");
    // Reads need no CSRF token; a session cookie is no bearer token.
    let a = env
        .send(
            Method::GET,
            "/api/v1/alerts",
            std::slice::from_ref(&cookie),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = env
        .call(Method::GET, "/api/v1/alerts", Some(&session.secret), None)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn answers_carry_the_security_headers() {
    let env = Env::new(pumpguard_testkit::TestDb::sqlite(), false).await;
    for (path, token) in [
        ("/api/v1/assets", Some(env.token(Role::Viewer))),
        ("/api/v1/assets", None),
        ("/api/v1/nope", None),
        (pumpguard_server::OPENAPI_PATH, None),
    ] {
        let a = env.call(Method::GET, path, token, None).await;
        let csp = a.header(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(
            a.header(header::X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{path}"
        );
        assert_eq!(a.header(header::X_FRAME_OPTIONS), "DENY", "{path}");
        assert_eq!(a.header(header::CACHE_CONTROL), "no-store", "{path}");
    }
    let a = env
        .call(
            Method::GET,
            "/api/v1/assets",
            Some(env.token(Role::Viewer)),
            None,
        )
        .await;
    assert!(
        a.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
}
