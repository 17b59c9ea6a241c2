//! tlspost-lint (being written).
