"""The README's CLI tour, run verbatim, command by command, in a fresh folder where the
server runs as ``make run`` starts it (on a port other than 8000) and the demo cast has
been made; and the CLI's links name that port."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness import FINISHED
from tests.services import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
CASTSMITH = str(Path(sys.executable).parent / "castsmith")
# Names that would point the commands elsewhere than the embedded default.
FOREIGN = ("PORT", "HOST", "DATABASE_URL", "STORAGE_BACKEND", "STORAGE_BUCKET", "S3_ENDPOINT")


def tour_commands() -> list[str]:
    """The shell lines of the README's "A short tour of the CLI" code block."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A short tour of the CLI", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the tour has no sh code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def clean_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CASTSMITH_") and key not in FOREIGN
    }
    env["NO_COLOR"] = "1"
    return env


@dataclass
class Served:
    folder: Path
    port: int
    client: httpx.Client

    def run(self, line: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run one tour line in the folder, as a user would in a second shell."""
        args = shlex.split(line)
        assert args[0] == "castsmith", line
        return subprocess.run(
            [CASTSMITH, *args[1:]],
            cwd=self.folder,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``castsmith migrate`` then ``castsmith serve`` in a fresh folder, demo cast made."""
    folder = tmp_path_factory.mktemp("fresh")
    port = free_port()
    env = clean_env()
    migrate = subprocess.run(
        [CASTSMITH, "migrate"], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    assert migrate.returncode == 0, migrate.stderr
    server = subprocess.Popen(
        [CASTSMITH, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 180  # a loaded machine starts slowly
            while True:
                try:
                    if client.get("/healthz").status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            cast = client.post("/api/demo-cast")
            assert cast.status_code == 202, cast.text
            for job_id in cast.json()["job_ids"]:
                deadline = time.monotonic() + 180
                while client.get(f"/api/jobs/{job_id}").json()["status"] not in FINISHED:
                    assert time.monotonic() < deadline, f"demo job {job_id} did not finish"
                    time.sleep(0.2)
            yield Served(folder=folder, port=port, client=client)
    finally:
        server.terminate()
        server.wait(timeout=20)


# Ten processes that each load the application: minutes on a loaded machine.
@pytest.mark.timeout(1500)
def test_the_tour_works_verbatim_after_the_demo_cast(served: Served) -> None:
    names = [actor["name"] for actor in served.client.get("/api/actors").json()["items"]]
    assert "0001_european_20_female" in names  # the demo cast is there
    lines = tour_commands()
    assert len(lines) >= 8
    for line in lines:
        done = served.run(line)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        if line.startswith("castsmith posters generate"):
            links = re.findall(r"https?://\S+", done.stdout)
            assert links, done.stdout
            assert all(f":{served.port}/" in link for link in links), done.stdout
            assert served.client.get(links[0]).status_code == 200  # they open too
        if " --out " in line:
            target = served.folder / shlex.split(line)[-1]
            assert target.stat().st_size > 10_000
    # What the tour made is what the server shows.
    shown = served.client.get("/api/actors", params={"q": "0005_nordic_30_female"}).json()
    assert shown["items"][0]["poster_frames"]


def test_exporting_an_empty_dataset_fails_clearly(served: Served) -> None:
    made = served.run('castsmith actors create 0006_empty_40_male --description "nobody yet"')
    assert made.returncode == 0, made.stderr
    done = served.run("castsmith training export 0006_empty_40_male --out empty.zip")
    assert done.returncode != 0
    assert "no training images to export" in done.stderr
    assert not (served.folder / "empty.zip").exists()
    assert not list(served.folder.glob("empty.zip*"))


@pytest.mark.timeout(900)
def test_generate_all_takes_a_base_image_from_a_file(served: Served) -> None:
    made = served.run('castsmith actors create 0007_filed_30_male --description "from a file"')
    assert made.returncode == 0, made.stderr
    refused = served.run("castsmith training generate-all 0007_filed_30_male --wait")
    assert refused.returncode != 0
    assert "--base-image FILE" in refused.stderr
    not_image = served.folder / "notes.txt"
    not_image.write_text("not a picture")
    bad = served.run("castsmith training generate-all 0007_filed_30_male --base-image notes.txt")
    assert bad.returncode != 0
    assert "--base-image" in bad.stderr
    portrait = served.folder / "portrait.jpg"
    portrait.write_bytes(served.client.get(first_base_image(served)).content)
    done = served.run(
        "castsmith training generate-all 0007_filed_30_male --base-image portrait.jpg --wait"
    )
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout
    listing = served.run("castsmith training list 0007_filed_30_male")
    assert re.search(r"^[1-9]\d* images, 0 rejected$", listing.stdout, re.M), listing.stdout


def first_base_image(served: Served) -> str:
    items = served.client.get("/api/actors", params={"q": "0001_european"}).json()["items"]
    url: str = items[0]["base_image_url"]
    return url
