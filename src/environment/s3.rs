//! The harness's own S3 client (aws-sdk-s3): readiness probes, bucket creation, and the
//! object listings the object-store check compares with the catalog.

use super::S3Endpoint;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::time::Duration;

pub fn client(s3: &S3Endpoint) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::timeout::TimeoutConfig;
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    let scheme = if s3.use_ssl { "https" } else { "http" };
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(s3.region.clone()))
        .endpoint_url(format!("{scheme}://{}", s3.endpoint))
        .credentials_provider(Credentials::new(
            &s3.access_key_id,
            &s3.secret_access_key,
            None,
            None,
            "ducklake-stress",
        ))
        .force_path_style(s3.url_style != "vhost")
        // Self-hosted S3 servers lag behind AWS on the newer integrity headers.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The SDK's error with its whole chain of causes (its Display alone says "service error").
fn sdk_error<E: std::error::Error + 'static>(context: &str, e: E) -> anyhow::Error {
    anyhow::anyhow!("{context}{}", aws_sdk_s3::error::DisplayErrorContext(e))
}

pub async fn head_bucket(s3: &S3Endpoint) -> anyhow::Result<()> {
    client(s3)
        .head_bucket()
        .bucket(&s3.bucket)
        .send()
        .await
        .map_err(|e| sdk_error("", e))?;
    Ok(())
}

pub async fn create_bucket(s3: &S3Endpoint) -> anyhow::Result<()> {
    let c = client(s3);
    if c.head_bucket().bucket(&s3.bucket).send().await.is_ok() {
        return Ok(());
    }
    c.create_bucket()
        .bucket(&s3.bucket)
        .send()
        .await
        .map_err(|e| sdk_error("", e))?;
    Ok(())
}

/// An object as listed: key and size in bytes.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

pub async fn list_objects(s3: &S3Endpoint, prefix: &str) -> anyhow::Result<Vec<ObjectInfo>> {
    let c = client(s3);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket(&s3.bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(&format!("listing s3://{}/{prefix}: ", s3.bucket), e))?;
        for o in page.contents() {
            out.push(ObjectInfo {
                key: o.key().unwrap_or_default().to_string(),
                size: o.size().unwrap_or(0).max(0) as u64,
            });
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

pub async fn delete_object(s3: &S3Endpoint, key: &str) -> anyhow::Result<()> {
    client(s3)
        .delete_object()
        .bucket(&s3.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| sdk_error("", e))?;
    Ok(())
}

pub async fn put_object(s3: &S3Endpoint, key: &str, body: Vec<u8>) -> anyhow::Result<()> {
    client(s3)
        .put_object()
        .bucket(&s3.bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| sdk_error("", e))?;
    Ok(())
}
