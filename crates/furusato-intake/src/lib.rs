//! Donation intake workflows: 楽天 RMS sync, portal CSV imports, direct donations and payment
//! records, donor matching across portals, and CSV exports. Parsing and the RMS client live in
//! `furusato-portals`; storage in `furusato-db`; this crate connects them.

pub mod direct;
pub mod export;
pub mod imports;
pub mod matching;
pub mod payments;
pub mod rakuten_sync;
pub mod worker;
