//! The store's tests: one test binary, modules by theme.

mod contract;
