//! The one way the CLI prepares node images: every image a command needs at
//! once, each with its progress (base bootstrap, image build, volume copy).

use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use pcmk_containers::image::{self, Mirrors, NodeImage};
use pcmk_containers::Docker;
use pcmk_model::node::Distro;

use crate::progress::Board;

pub struct Prepared {
    pub images: Vec<NodeImage>,
    /// From the first request to the last image ready.
    pub took: Duration,
    /// Each image this call built (not found ready), with its own time.
    pub built: Vec<(Distro, Duration)>,
}

impl Prepared {
    pub fn image(&self, distro: Distro) -> NodeImage {
        self.images.iter().find(|i| i.distro == distro).cloned().expect("prepare returns every distro asked for")
    }

    /// The report's phases: the whole preparation, then one `image built` per image built.
    pub fn phases(&self) -> Vec<(String, Duration)> {
        let built = self.built.iter().map(|(_, took)| ("image built".to_string(), *took));
        std::iter::once(("images".to_string(), self.took)).chain(built).collect()
    }
}

/// Finds or builds the node image of each distro, all at once.
pub async fn prepare(docker: &Docker, distros: &[Distro]) -> anyhow::Result<Prepared> {
    let started = Instant::now();
    let board = Board::new();
    let mirrors = Mirrors::default();
    let one = |distro: Distro| {
        let progress = board.task(&format!("image {distro}"));
        let mirrors = &mirrors;
        async move {
            let began = Instant::now();
            let image = image::ensure_node_image(docker, distro, mirrors, &|e| progress.event(e)).await?;
            let took = began.elapsed();
            let how = if image.built { format!("built in {:.1}s", took.as_secs_f64()) } else { "already built".to_string() };
            progress.finish(&format!("{} {how}", image.tag));
            anyhow::Ok((image, took))
        }
    };
    let mut distros = distros.to_vec();
    distros.sort();
    distros.dedup();
    let done = try_join_all(distros.into_iter().map(one)).await?;
    let built = done.iter().filter(|(image, _)| image.built).map(|(image, took)| (image.distro, *took)).collect();
    Ok(Prepared { images: done.into_iter().map(|(image, _)| image).collect(), took: started.elapsed(), built })
}
