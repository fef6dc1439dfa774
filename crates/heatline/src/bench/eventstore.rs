pub async fn run(_: &crate::database::Database, _: Options) -> anyhow::Result<()> {
    anyhow::bail!("bench not written yet")
}
#[derive(clap::Args)]
pub struct Options {}
