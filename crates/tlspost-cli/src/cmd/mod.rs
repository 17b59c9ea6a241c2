//! One module per subcommand.

pub mod certs;
pub mod common;
pub mod doctor;
pub mod lint;
pub mod post;
pub mod replay;
pub mod serve;
