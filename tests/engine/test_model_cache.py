"""course.graders.model_cache: train once, then load; a corrupt file is trained again."""

import torch

from course.graders.model_cache import cache_file, cached_model


def test_trains_once_then_loads_and_rebuilds_a_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_GRADER_CACHE", str(tmp_path))
    trained = []

    def build():
        return torch.nn.Linear(3, 2)

    def train(model):
        trained.append(1)
        with torch.no_grad():
            model.weight.fill_(0.5)

    first = cached_model("toy", build, train)
    second = cached_model("toy", build, train)
    assert len(trained) == 1 and not second.training and second is not first
    assert torch.equal(second.weight, torch.full((2, 3), 0.5))
    assert cache_file("toy").stat().st_mode & 0o044  # readable by the other graders' users
    cache_file("toy").write_bytes(b"not a state dict")
    third = cached_model("toy", build, train)
    assert len(trained) == 2 and torch.equal(third.weight, torch.full((2, 3), 0.5))
