//! Warnings shown at the top of the dashboard: things an operator must act on.
//!
//! * No vault keys (for those who manage settings or intake).
//! * The 楽天 RMS license key: it lives 90 days and is renewed by hand in RMS; a warning appears
//!   from [`LICENSE_WARNING_DAYS`] days before its expiry (read at every sync and by the
//!   「有効期限を確認」 button), another once it has expired, and another when the last sync was
//!   rejected with GA0001 (wrong or expired key).

use furusato_db::intake_sync;
use furusato_db::{Db, MunicipalityId};
use furusato_domain::jst;
use time::{Date, OffsetDateTime};

use crate::access::{CurrentUser, Permission};
use crate::state::AppState;

/// Days before the license key's expiry from which the dashboard warns.
pub const LICENSE_WARNING_DAYS: i64 = 14;

pub async fn dashboard_warnings(state: &AppState, user: &CurrentUser) -> Vec<String> {
    let mut out = Vec::new();
    if state.keyring.is_none()
        && (user.can(Permission::Settings) || user.can(Permission::IntakeSettings))
    {
        out.push(
            "暗号鍵が設定されていません。個人番号・二要素認証・ポータル認証情報を扱う機能は使えません（`furusato keys init` で作成できます）。"
                .to_string(),
        );
    }
    out.extend(rakuten_warnings(&state.db, user.tenant, jst::now_jst()).await);
    out
}

/// The 楽天 license-key warnings of a municipality at `now`.
pub async fn rakuten_warnings(db: &Db, tenant: MunicipalityId, now: OffsetDateTime) -> Vec<String> {
    let mut out = Vec::new();
    let account = match intake_sync::account(db, tenant, "rakuten").await {
        Ok(Some(a)) if a.enabled && a.has_credentials() => a,
        Ok(_) => return out,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the 楽天 account for the dashboard");
            return out;
        }
    };
    let last = intake_sync::last_finished_run(db, tenant, "rakuten")
        .await
        .ok()
        .flatten();
    let rejected = last.as_ref().filter(|r| {
        r.detail_json()["error_code"].as_str() == Some("GA0001")
            && r.started_at >= account.updated_at
    });
    if let Some(r) = rejected {
        out.push(format!(
            "楽天RMSがライセンスキーを拒否しました（{} の同期、GA0001）。キーの期限切れか誤りです。RMSで新しいキーを発行し、取込設定で登録してください。",
            jst::format_datetime_ja(r.started_at)
        ));
    }
    if let Some(exp) = account.license_expires_at
        && let Some(w) = expiry_warning(exp, now.date_jst())
        && (rejected.is_none() || !w.contains("切れました"))
    {
        out.push(w);
    }
    out
}

trait DateJst {
    fn date_jst(self) -> Date;
}

impl DateJst for OffsetDateTime {
    fn date_jst(self) -> Date {
        jst::to_jst(self).date()
    }
}

/// The warning for a license key expiring at `expires_at`, seen on `today` (JST), if any.
pub fn expiry_warning(expires_at: OffsetDateTime, today: Date) -> Option<String> {
    let day = expires_at.date_jst();
    let left = (day - today).whole_days();
    if left < 0 {
        Some(format!(
            "楽天RMSのライセンスキーの有効期限が{}に切れました。同期できません。RMSで新しいキーを発行し、取込設定で登録してください。",
            jst::format_date_ja(day)
        ))
    } else if left <= LICENSE_WARNING_DAYS {
        Some(format!(
            "楽天RMSのライセンスキーの有効期限が{}に切れます（あと{left}日）。RMSで新しいキーを発行し、取込設定で登録してください。",
            jst::format_date_ja(day)
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn expiry_warnings() {
        let exp = datetime!(2026-12-10 14:59:59 UTC); // 23:59:59 JST
        assert_eq!(expiry_warning(exp, date!(2026 - 11 - 25)), None);
        assert_eq!(
            expiry_warning(exp, date!(2026 - 11 - 26)).unwrap(),
            "楽天RMSのライセンスキーの有効期限が2026年12月10日に切れます（あと14日）。RMSで新しいキーを発行し、取込設定で登録してください。"
        );
        assert!(
            expiry_warning(exp, date!(2026 - 12 - 10))
                .unwrap()
                .contains("あと0日")
        );
        assert!(
            expiry_warning(exp, date!(2026 - 12 - 11))
                .unwrap()
                .contains("切れました")
        );
    }
}
