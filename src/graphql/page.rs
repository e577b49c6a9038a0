//! What every Relay connection shares: the page-size bound and `PageInfo`.
use async_graphql::SimpleObject;

pub const MAX_PAGE: i32 = 100;

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}
