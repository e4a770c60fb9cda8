//! The FreeRADIUS 3.2 configuration for 802.1X EAP-TLS with the device CA: a complete,
//! self-contained `raddb` directory for Debian's `freeradius` (main file, client, the
//! `eap` module, the server on the port and the `admission` server) that accepts a
//! certificate from our issuing CA that is not on its CRL and whose common name (the
//! asset id) is admitted, with that asset's VLAN. Everything else (unknown CA, revoked,
//! unknown or retired asset) gets an Access-Reject with an EAP-Failure.
//!
//! OpenSSL finds the CRL in a CA directory of files named by OpenSSL's name hash; this
//! module asks the `openssl` binary for those hashes (`openssl x509 -hash`, `openssl crl
//! -hash`) rather than re-implement OpenSSL's name canonicalisation.

use std::fmt::Write as _;
use std::io::{Error, ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One certificate subject the RADIUS server admits, and the VLAN it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub asset_id: String,
    pub zone: String,
    pub vlan: u16,
}

/// What the RADIUS server is made of.
#[derive(Debug, Clone)]
pub struct RadiusSetup<'a> {
    /// The issuing CA certificate (PEM) followed by the root CA certificate.
    pub ca_chain_pem: &'a str,
    /// The issuing CA's current CRL (PEM); every client certificate is checked against it.
    pub crl_pem: &'a str,
    /// The RADIUS server's certificate (profile `server`) issued by our CA.
    pub server_cert_pem: &'a str,
    /// Its private key: unencrypted PKCS#8 PEM.
    pub server_key_pem: &'a str,
    /// The RADIUS shared secret of the one client, 127.0.0.1.
    pub secret: &'a str,
    /// The authentication port (UDP, on 127.0.0.1).
    pub port: u16,
    /// The assets admitted, by certificate common name.
    pub admissions: &'a [Admission],
}

/// Writes `dir/raddb` (creating it, replacing the files it writes if it exists) so that
/// `freeradius -f -d dir/raddb` runs it as is, as the invoking user; logs go to
/// `dir/log`, the pid file to `dir/run`. Returns the `raddb` path.
///
/// The CRL is read at start (and again hourly, `ca_path_reload_interval`): write the
/// configuration again when the CRL is re-issued, before the old one's next update,
/// or every certificate is refused.
pub fn write_config(dir: &Path, setup: &RadiusSetup<'_>) -> std::io::Result<PathBuf> {
    validate(setup)?;
    let chain = pem_blocks(setup.ca_chain_pem, "CERTIFICATE");
    if chain.is_empty() {
        return Err(invalid("the CA chain holds no PEM certificate"));
    }
    let crl = match pem_blocks(setup.crl_pem, "X509 CRL").as_slice() {
        [one] => one.clone(),
        _ => return Err(invalid("the CRL must be exactly one PEM X509 CRL")),
    };
    let server_cert = match pem_blocks(setup.server_cert_pem, "CERTIFICATE").as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(invalid(
                "the server certificate must be one PEM certificate",
            ));
        }
    };
    if setup.server_key_pem.contains("ENCRYPTED PRIVATE KEY") {
        return Err(invalid(
            "the server key must be unencrypted (the configuration holds no passphrase)",
        ));
    }
    let server_key = match pem_blocks(setup.server_key_pem, "PRIVATE KEY").as_slice() {
        [one] => one.clone(),
        _ => return Err(invalid("the server key must be one PKCS#8 PEM PRIVATE KEY")),
    };

    // The CA directory's names: `<subject hash>.N` for certificates, `<issuer hash>.rN`
    // for CRLs; N counts up when two names share a hash.
    let mut ca_files: Vec<(String, &str)> = Vec::new();
    let mut cert_hashes: Vec<String> = Vec::new();
    for cert in &chain {
        let hash = openssl_hash("x509", cert)?;
        let n = cert_hashes.iter().filter(|h| **h == hash).count();
        ca_files.push((format!("{hash}.{n}"), cert));
        cert_hashes.push(hash);
    }
    let crl_hash = openssl_hash("crl", &crl)?;
    if cert_hashes.first() != Some(&crl_hash) {
        return Err(invalid(
            "the CRL is not the issuing CA's (its issuer is not the chain's first certificate)",
        ));
    }
    ca_files.push((format!("{crl_hash}.r0"), &crl));

    quotable_path(&std::path::absolute(dir)?)?;
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let prefix = quotable_path(&dir)?;
    let raddb = dir.join("raddb");
    for sub in [
        "log",
        "run",
        "db",
        "raddb/mods-enabled",
        "raddb/sites-enabled",
    ] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    // The CA directory is ours alone: start it afresh so no certificate or CRL of an
    // earlier configuration stays trusted.
    let ca_dir = raddb.join("certs/ca");
    match std::fs::remove_dir_all(&ca_dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(&ca_dir)?;

    write(&raddb.join("certs/chain.pem"), &chain.concat(), PUBLIC)?;
    write(&raddb.join("certs/server.pem"), &server_cert, PUBLIC)?;
    write(&raddb.join("certs/server.key"), &server_key, SECRET)?;
    for (name, pem) in &ca_files {
        write(&ca_dir.join(name), pem, PUBLIC)?;
    }
    write(&raddb.join("radiusd.conf"), &radiusd_conf(prefix), PUBLIC)?;
    write(&raddb.join("dictionary"), DICTIONARY, PUBLIC)?;
    write(
        &raddb.join("clients.conf"),
        &clients_conf(setup.secret),
        SECRET,
    )?;
    write(&raddb.join("mods-enabled/eap"), EAP_MODULE, PUBLIC)?;
    write(&raddb.join("mods-enabled/always"), ALWAYS_MODULE, PUBLIC)?;
    write(
        &raddb.join("sites-enabled/default"),
        &default_site(setup.port),
        PUBLIC,
    )?;
    write(
        &raddb.join("sites-enabled/admission"),
        &admission_site(setup.admissions),
        PUBLIC,
    )?;
    Ok(raddb)
}

const PUBLIC: u32 = 0o644;
/// The server key and the shared secret: the invoking user's only.
const SECRET: u32 = 0o600;

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, message.to_owned())
}

/// What a double-quoted FreeRADIUS string cannot hold as it is: a quote or backslash
/// (they end or escape it), a control character (a newline ends the item), `${`
/// (FreeRADIUS expands it as a configuration variable).
fn unquotable(text: &str) -> Option<String> {
    if let Some(c) = text
        .chars()
        .find(|c| matches!(c, '"' | '\\') || c.is_control())
    {
        return Some(format!("{c:?}"));
    }
    text.contains("${").then(|| "\"${\"".to_owned())
}

/// `path` as text the configuration can quote.
fn quotable_path(path: &Path) -> std::io::Result<&str> {
    let text = path
        .to_str()
        .ok_or_else(|| invalid("the configuration directory's path is not UTF-8"))?;
    match unquotable(text) {
        Some(what) => Err(invalid(&format!(
            "the configuration directory's path has {what}, which the configuration cannot quote"
        ))),
        None => Ok(text),
    }
}

fn validate(setup: &RadiusSetup<'_>) -> std::io::Result<()> {
    if setup.secret.is_empty() {
        return Err(invalid("the RADIUS shared secret is empty"));
    }
    if let Some(what) = unquotable(setup.secret) {
        return Err(invalid(&format!(
            "the RADIUS shared secret has {what}, which the configuration cannot quote (no \", \\, ${{ or control characters)"
        )));
    }
    if setup.port == 0 {
        return Err(invalid("the RADIUS port must not be 0"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for a in setup.admissions {
        let id = a.asset_id.as_str();
        if id.is_empty() || id.len() > 64 {
            return Err(invalid(&format!(
                "asset id '{id}' must have 1 to 64 characters"
            )));
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            return Err(invalid(&format!(
                "asset id {id:?} has {c:?}; allowed are letters, digits, - _ . :"
            )));
        }
        if seen.contains(&id) {
            return Err(invalid(&format!("asset id '{id}' is admitted twice")));
        }
        seen.push(id);
        if !(1..=4094).contains(&a.vlan) {
            return Err(invalid(&format!(
                "VLAN {} of asset '{id}' is not 1 to 4094",
                a.vlan
            )));
        }
        if a.zone.chars().any(char::is_control) {
            return Err(invalid(&format!(
                "zone {:?} of asset '{id}' has a control character",
                a.zone
            )));
        }
    }
    Ok(())
}

/// The PEM blocks labelled `label` in `text`, each with its BEGIN and END lines.
fn pem_blocks(text: &str, label: &str) -> Vec<String> {
    let (begin, end) = (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    );
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == begin {
            current = Some(format!("{line}\n"));
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
            if line == end {
                blocks.extend(current.take());
            }
        }
    }
    blocks
}

/// OpenSSL's hash of a certificate's subject (`kind` `x509`) or a CRL's issuer (`crl`).
fn openssl_hash(kind: &str, pem: &str) -> std::io::Result<String> {
    let mut child = Command::new("openssl")
        .args([kind, "-hash", "-noout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::new(
                e.kind(),
                format!("cannot run openssl (it names the CA files by hash): {e}"),
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(pem.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || hash.len() != 8 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        let what = if kind == "crl" {
            "the CRL"
        } else {
            "a certificate"
        };
        return Err(invalid(&format!(
            "openssl cannot read {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(hash)
}

/// Writes `path` afresh with `mode` (the old file is removed first, so a key file is
/// never readable by others, even for a moment).
fn write(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)?.write_all(contents.as_bytes())
}

/// The main configuration: paths inside the directory, no `user`/`group` (it runs as
/// whoever starts it), no proxying, the modules and the virtual servers included.
fn radiusd_conf(prefix: &str) -> String {
    format!(
        r#"# pumpguard: FreeRADIUS 3.2 for 802.1X EAP-TLS with the device CA.
# Generated; written again by pumpguard, so edits here are lost.
# Run: freeradius -f -d {prefix}/raddb

prefix = "{prefix}"
logdir = "${{prefix}}/log"
run_dir = "${{prefix}}/run"
db_dir = "${{prefix}}/db"
pidfile = "${{run_dir}}/radiusd.pid"
raddbdir = "${{prefix}}/raddb"
confdir = "${{raddbdir}}"
certdir = "${{confdir}}/certs"
cadir = "${{confdir}}/certs/ca"
# Debian's freeradius: its modules, and the standard dictionaries (their
# `dictionary` includes the others; ${{confdir}}/dictionary is read after them).
libdir = /usr/lib/freeradius
dictdir = /usr/share/freeradius

max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no

log {{
	destination = files
	file = "${{logdir}}/radius.log"
	colourise = no
	stripped_names = no
	# "Login OK" / "Login incorrect" lines, with the reason.
	auth = yes
	auth_badpass = no
	auth_goodpass = no
}}

security {{
	# No user/group: the server keeps the identity of whoever starts it.
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 1
	status_server = no
}}

proxy_requests = no

$INCLUDE clients.conf

thread pool {{
	start_servers = 2
	max_servers = 8
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}}

modules {{
	$INCLUDE mods-enabled/eap
	$INCLUDE mods-enabled/always
}}

$INCLUDE sites-enabled/default
$INCLUDE sites-enabled/admission
"#
    )
}

/// The local dictionary: the standard ones come from `dictdir`; nothing is added.
const DICTIONARY: &str = "# pumpguard: no local attributes. The standard dictionaries are read from\n\
# dictdir (/usr/share/freeradius, whose `dictionary` includes the others).\n";

fn clients_conf(secret: &str) -> String {
    format!(
        r#"# pumpguard: the one RADIUS client, the authenticator on this host.
client localhost {{
	ipaddr = 127.0.0.1
	proto = udp
	secret = "{secret}"
	# EAP requests always carry it; anything without it is forged or broken.
	require_message_authenticator = yes
	nas_type = other
}}
"#
    )
}

/// EAP with TLS only, against the device CA and its CRL.
const EAP_MODULE: &str = r#"# pumpguard: EAP-TLS only, with the device CA.
eap {
	default_eap_type = tls
	timer_expire = 60
	ignore_unknown_eap_types = no
	cisco_accounting_username_bug = no
	max_sessions = 1024

	tls-config device-ca {
		certificate_file = "${certdir}/server.pem"
		private_key_file = "${certdir}/server.key"
		# Trusted for client certificates: the issuing CA and the root.
		ca_file = "${certdir}/chain.pem"
		# The same CAs and the issuing CA's CRL, under OpenSSL hash names
		# (<subject hash>.0, <issuer hash>.r0): OpenSSL finds CRLs only here.
		ca_path = "${cadir}"
		# The client certificate against its issuer's CRL. Not check_all_crl:
		# that wants a CRL from the root as well, and the root issues none.
		check_crl = yes
		# Read ca_path again hourly, to pick up a re-issued CRL without a restart.
		ca_path_reload_interval = 3600
		# TLS 1.2 only: FreeRADIUS 3.2 warns that most supplicants do not do
		# EAP-TLS over TLS 1.3 properly (wpa_supplicant leaves it off unless
		# told), and recommends capping at 1.2.
		tls_min_version = "1.2"
		tls_max_version = "1.2"
		cipher_list = "HIGH:!aNULL:!MD5"
		cipher_server_preference = yes
		ecdh_curve = "prime256v1"
		cache {
			enable = no
		}
		ocsp {
			enable = no
		}
	}

	tls {
		tls = device-ca
		# After the certificate checked out, before EAP-Success: is the asset
		# admitted, and on which VLAN.
		virtual_server = admission
	}
}
"#;

/// `reject`, for unlang: a module that does nothing but fail the request.
const ALWAYS_MODULE: &str = r#"# pumpguard: `reject` in the virtual server.
always reject {
	rcode = reject
}
"#;

/// The virtual server on the port: EAP-TLS and nothing else. What it admits, and with
/// which VLAN, the `admission` server decides.
fn default_site(port: u16) -> String {
    format!(
        r#"# pumpguard: 802.1X EAP-TLS for the admitted assets.
server default {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {port}
	}}

	authorize {{
		eap
	}}

	authenticate {{
		eap
	}}

	post-auth {{
		# The admission server gave every admitted asset its VLAN: an Accept
		# without one (say, a resumed TLS session that skipped it) admits
		# nobody. EAP has already succeeded here, so its EAP-Success and the
		# session keys come out of the reply.
		if (!&reply:Tunnel-Private-Group-Id) {{
			update reply {{
				&EAP-Message !* ANY
				&MS-MPPE-Send-Key !* ANY
				&MS-MPPE-Recv-Key !* ANY
			}}
			reject
		}}

		Post-Auth-Type REJECT {{
			# The EAP-Failure for a request rejected before EAP decided.
			eap
		}}
	}}
}}
"#
    )
}

/// The admission list, as the virtual server that EAP-TLS consults after the client
/// certificate checked out and before it sends EAP-Success (so a refusal is a proper
/// EAP-Failure): the certificate's common name is the asset id; an admitted asset gets
/// its zone's VLAN in the reply, any other name (unknown, retired) is rejected.
fn admission_site(admissions: &[Admission]) -> String {
    let mut cases = String::new();
    for a in admissions {
        let _ = write!(
            cases,
            r#"		case "{id}" {{
			# zone: {zone}
			update reply {{
				&Tunnel-Type := VLAN
				&Tunnel-Medium-Type := IEEE-802
				&Tunnel-Private-Group-Id := "{vlan}"
			}}
			update control {{
				&Auth-Type := Accept
			}}
		}}
"#,
            id = a.asset_id,
            zone = a.zone,
            vlan = a.vlan,
        );
    }
    format!(
        r#"# pumpguard: the admitted assets, by client certificate common name.
server admission {{
	authorize {{
		switch &TLS-Client-Cert-Common-Name {{
{cases}		case {{
			# Not admitted: an unknown or retired asset.
			update request {{
				&Module-Failure-Message := "asset %{{TLS-Client-Cert-Common-Name}} is not admitted"
			}}
			update control {{
				&Auth-Type := Reject
			}}
		}}
		}}
	}}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup<'a>(secret: &'a str, admissions: &'a [Admission]) -> RadiusSetup<'a> {
        RadiusSetup {
            ca_chain_pem: "",
            crl_pem: "",
            server_cert_pem: "",
            server_key_pem: "",
            secret,
            port: 1812,
            admissions,
        }
    }

    fn admit(id: &str, vlan: u16) -> Admission {
        Admission {
            asset_id: id.into(),
            zone: "pumps".into(),
            vlan,
        }
    }

    fn refused(s: &RadiusSetup<'_>) -> String {
        let dir = std::env::temp_dir().join("pumpguard-radius-never-written");
        let err = write_config(&dir, s).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(!dir.exists(), "nothing is written for bad input");
        let text = err.to_string();
        assert!(!text.contains('\n'), "{text}");
        text
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(refused(&setup("", &[])).contains("empty"));
        for bad in ["a\"b", "a\\b", "a\nb", "a\tb", "a${x}b"] {
            assert!(refused(&setup(bad, &[])).contains("secret"), "{bad:?}");
        }
    }

    #[test]
    fn bad_admissions_are_refused() {
        for id in [
            "",
            "PUMP 1",
            "PUMP\"1",
            "PUMP}",
            "PUMP\n1",
            "Pümpe",
            "P".repeat(65).as_str(),
        ] {
            let list = [admit(id, 30)];
            assert!(
                refused(&setup("s3cret", &list)).contains("asset id"),
                "{id:?}"
            );
        }
        for vlan in [0, 4095] {
            let list = [admit("PUMP-1", vlan)];
            assert!(refused(&setup("s3cret", &list)).contains("VLAN"));
        }
        let twice = [admit("PUMP-1", 30), admit("PUMP-1", 31)];
        assert!(refused(&setup("s3cret", &twice)).contains("twice"));
        let mut zone = admit("PUMP-1", 30);
        zone.zone = "icu\n}".into();
        assert!(refused(&setup("s3cret", &[zone])).contains("zone"));
    }

    #[test]
    fn good_ids_and_secrets_pass_and_bad_pem_is_refused() {
        let list = [admit("PUMP-0001", 30), admit("mac:00.1b_x-Y", 4094)];
        for secret in ["s3cret", "it's #1 $5 %{x} {}=,;", "Grüße"] {
            assert!(validate(&setup(secret, &list)).is_ok(), "{secret}");
        }
        assert!(refused(&setup("s3cret", &list)).contains("CA chain"));
    }

    #[test]
    fn pem_blocks_are_split_by_label() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
                    -----BEGIN X509 CRL-----\nBBB\n-----END X509 CRL-----\n\
                    -----BEGIN CERTIFICATE-----\r\nCCC\r\n-----END CERTIFICATE-----";
        let certs = pem_blocks(text, "CERTIFICATE");
        assert_eq!(certs.len(), 2);
        assert_eq!(
            certs[1],
            "-----BEGIN CERTIFICATE-----\nCCC\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(pem_blocks(text, "X509 CRL").len(), 1);
        assert!(pem_blocks(text, "PRIVATE KEY").is_empty());
    }

    #[test]
    fn the_admission_server_lists_every_asset_and_rejects_the_rest() {
        let site = admission_site(&[admit("PUMP-0001", 30), admit("PUMP-0002", 31)]);
        assert!(site.contains("case \"PUMP-0001\" {"));
        assert!(site.contains("&Tunnel-Private-Group-Id := \"31\""));
        assert!(site.contains("&Auth-Type := Reject"));
        assert_eq!(site.matches('{').count(), site.matches('}').count());
        let site = default_site(18120);
        assert!(site.contains("port = 18120"));
        assert_eq!(site.matches('{').count(), site.matches('}').count());
    }
}
