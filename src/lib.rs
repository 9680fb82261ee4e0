//! xivo-confd: the XiVO confd 1.1 and xivo-auth 0.1 REST APIs over SQLite.
//! `main.rs` is the command line; everything else lives here so tests and
//! benchmarks can reach it.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod csv;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod handler;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod resources;
pub mod routes;
pub mod server;
