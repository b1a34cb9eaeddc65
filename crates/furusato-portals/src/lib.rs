//! furusato-portals
pub mod csv_import;
pub mod rakuten;
