//! User roles.

use crate::code_enum::code_enum;

code_enum! {
    /// What a user account may do. Whether an operator is also a designated My Number handler
    /// (特定個人情報 作業従事者) is recorded separately, not as a role.
    pub enum Role("role") {
        /// City staff (発注者): read access to their city, approvals.
        City => "city", "市職員";
        /// City administrator: also manages the city's accounts.
        CityAdmin => "city_admin", "市管理者";
        /// Contractor staff (受注者) doing the daily work.
        Operator => "operator", "運営事業者";
        /// Contractor administrator.
        OperatorAdmin => "operator_admin", "運営管理者";
        /// Gift supplier (返礼品協力事業者): only their own orders.
        Partner => "partner", "返礼品事業者";
        /// Auditor: read-only plus the audit trail.
        Auditor => "auditor", "監査担当";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_enum::check_code_enum;

    #[test]
    fn roles() {
        check_code_enum(&Role::ALL);
        let codes: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            codes,
            [
                "city",
                "city_admin",
                "operator",
                "operator_admin",
                "partner",
                "auditor"
            ]
        );
        let labels: Vec<&str> = Role::ALL.iter().map(|r| r.label_ja()).collect();
        assert_eq!(
            labels,
            [
                "市職員",
                "市管理者",
                "運営事業者",
                "運営管理者",
                "返礼品事業者",
                "監査担当"
            ]
        );
        assert_eq!(Role::parse("operator_admin"), Ok(Role::OperatorAdmin));
        assert_eq!("監査担当".parse(), Ok(Role::Auditor));
        assert!(Role::parse("admin").is_err());
    }
}
