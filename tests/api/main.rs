//! One test binary: every test spawns the real app over HTTP on a fresh
//! database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set).
mod auth;
mod contracts;
mod dashboard;
mod errors;
mod fuzz;
mod graphql;
mod hardening;
mod helpers;
mod hosted_page;
mod hostile;
mod idempotency;
mod payments;
mod plans;
mod processes;
mod receiver;
mod refunds;
mod runtime;
mod sessions;
mod subscriptions;
mod typed_filters;
mod validation;
mod webhook_processes;
mod webhook_urls;
mod webhooks;
