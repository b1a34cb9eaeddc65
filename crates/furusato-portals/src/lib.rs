//! furusato-portals
pub mod rakuten;
pub mod csv_import;
