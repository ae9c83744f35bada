pub mod corpus;
pub mod eval;
pub mod import;
pub mod util;
