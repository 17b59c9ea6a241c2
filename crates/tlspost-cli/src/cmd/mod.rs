//! One module per subcommand.

pub mod certs;
pub mod lint;
pub mod post;
pub mod serve;
