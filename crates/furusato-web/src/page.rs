//! The page layout shared by every screen: navigation for the areas the user may use, the
//! user's name and role, the CSRF token for forms, and a one-line notice.

use furusato_domain::Role;

use crate::access::{CurrentUser, Permission};
use crate::state::AppState;

/// One entry of the navigation bar.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What `base.html` needs.
#[derive(Clone, Debug)]
pub struct Layout {
    pub title: String,
    pub user_name: String,
    pub role_label: &'static str,
    pub municipality_name: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub notice: Option<String>,
    pub handler: bool,
}

/// Product areas, in navigation order, with the permission that shows them.
const AREAS: &[(&str, &str, Permission)] = &[
    ("/", "ダッシュボード", Permission::Dashboard),
    ("/donors", "寄附者", Permission::LedgerRead),
    ("/donations", "寄附", Permission::LedgerRead),
    ("/intake", "取込", Permission::IntakeRun),
    ("/partner/orders", "発注一覧", Permission::PartnerOrders),
    ("/audit", "操作記録", Permission::AuditRead),
    ("/admin/users", "利用者管理", Permission::UserAdmin),
    ("/admin/settings", "設定", Permission::Settings),
];

impl Layout {
    /// The layout for `user` on the page at `path`.
    pub async fn new(
        state: &AppState,
        user: &CurrentUser,
        title: impl Into<String>,
        path: &str,
    ) -> Layout {
        let municipality_name = furusato_db::municipalities::get(&state.db, user.tenant)
            .await
            .map(|m| m.name)
            .unwrap_or_default();
        let nav = AREAS
            .iter()
            .filter(|(_, _, p)| user.can(*p))
            .map(|(href, label, _)| NavItem {
                href,
                label,
                active: if *href == "/" {
                    path == "/"
                } else {
                    path.starts_with(href)
                },
            })
            .collect();
        Layout {
            title: title.into(),
            user_name: user.user.display_name.clone(),
            role_label: role_label(user.role),
            municipality_name,
            csrf: user.csrf_token.clone(),
            nav,
            notice: None,
            handler: user.user.my_number_handler,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

pub fn role_label(role: Role) -> &'static str {
    role.label_ja()
}

/// "12,345" — counts on screens use thousands separators like amounts.
pub fn fmt_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_get_separators() {
        assert_eq!(super::fmt_count(0), "0");
        assert_eq!(super::fmt_count(999), "999");
        assert_eq!(super::fmt_count(1000), "1,000");
        assert_eq!(super::fmt_count(1234567), "1,234,567");
        assert_eq!(super::fmt_count(-1234), "-1,234");
    }
}
