pub mod corpus;
pub mod eval;
pub mod finetune;
pub mod forecast;
pub mod import;
pub mod model;
pub mod train;
pub mod util;
