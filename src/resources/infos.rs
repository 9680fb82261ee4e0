//! `/1.1/infos`: the instance's identity.

use super::Ctx;
use crate::error::ApiResult;
use crate::http::ApiResponse;
use serde_json::json;

pub fn get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let uuid: String = ctx
        .conn
        .prepare_cached("SELECT value FROM infos WHERE key = 'uuid'")?
        .query_row([], |row| row.get(0))?;
    Ok(ApiResponse::json(200, &json!({ "uuid": uuid })))
}
