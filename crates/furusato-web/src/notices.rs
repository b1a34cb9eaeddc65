//! Warnings shown at the top of the dashboard: things an operator must act on.

use crate::access::{CurrentUser, Permission};
use crate::state::AppState;

pub async fn dashboard_warnings(state: &AppState, user: &CurrentUser) -> Vec<String> {
    let mut out = Vec::new();
    if state.keyring.is_none() && (user.can(Permission::Settings) || user.can(Permission::IntakeSettings)) {
        out.push(
            "暗号鍵が設定されていません。個人番号・二要素認証・ポータル認証情報を扱う機能は使えません（`furusato keys init` で作成できます）。"
                .to_string(),
        );
    }
    out
}
