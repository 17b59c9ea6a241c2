//! One module per subcommand.

pub mod certs;
pub mod doctor;
pub mod lint;
pub mod post;
pub mod serve;
