//! furusato-refdata
