//! Web settings: session lifetimes, lockout, second factor and IP allow-lists. Loaded by the CLI
//! from `furusato.toml` / `FURUSATO_*` environment variables (see README, "Configuration").

use std::collections::BTreeMap;

use furusato_domain::Role;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSettings {
    /// Log out after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// Log out this many hours after login, whatever the activity.
    pub session_absolute_hours: i64,
    /// Lock an account after this many wrong passwords in a row…
    pub lockout_threshold: i64,
    /// …for this many minutes (an admin can unlock earlier).
    pub lockout_minutes: i64,
    /// Roles that must use a second factor (TOTP). Default: none (the demo and a first start must work
    /// without enrolment); production configurations list every role that sees personal data.
    pub totp_required_roles: Vec<String>,
    /// Per-role CIDR allow-lists, e.g. `partner = ["203.0.113.0/24"]`. A role not listed may log in
    /// from anywhere.
    pub ip_allow: BTreeMap<String, Vec<IpNet>>,
    /// Set the `Secure` flag on cookies and send HSTS (when served over TLS or behind a TLS proxy).
    pub tls: bool,
    /// Trust `X-Forwarded-For` from a reverse proxy for the client address.
    pub trust_proxy: bool,
    /// Largest accepted upload (CSV imports), in megabytes.
    pub max_upload_mb: usize,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            totp_required_roles: Vec::new(),
            ip_allow: BTreeMap::new(),
            tls: false,
            trust_proxy: false,
            max_upload_mb: 200,
        }
    }
}

impl WebSettings {
    /// Whether `role` must have a second factor.
    pub fn totp_required(&self, role: Role) -> bool {
        self.totp_required_roles
            .iter()
            .any(|r| r == role.as_str() || r == "all")
    }

    /// Whether a user of `role` may connect from `ip`.
    pub fn ip_allowed(&self, role: Role, ip: std::net::IpAddr) -> bool {
        match self.ip_allow.get(role.as_str()) {
            None => true,
            Some(nets) => nets.iter().any(|n| n.contains(&ip)),
        }
    }

    /// Checks values that would make the server unusable; returns English messages.
    pub fn validate(&self) -> Result<(), String> {
        if self.session_idle_minutes <= 0 || self.session_absolute_hours <= 0 {
            return Err("session_idle_minutes and session_absolute_hours must be positive".into());
        }
        if self.lockout_threshold <= 0 || self.lockout_minutes <= 0 {
            return Err("lockout_threshold and lockout_minutes must be positive".into());
        }
        for r in self
            .totp_required_roles
            .iter()
            .filter(|r| r.as_str() != "all")
        {
            if Role::parse(r).is_err() {
                return Err(format!("totp_required_roles: unknown role {r:?}"));
            }
        }
        for r in self.ip_allow.keys() {
            if Role::parse(r).is_err() {
                return Err(format!("ip_allow: unknown role {r:?}"));
            }
        }
        Ok(())
    }
}
