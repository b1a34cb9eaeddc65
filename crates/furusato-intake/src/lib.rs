//! furusato-intake
