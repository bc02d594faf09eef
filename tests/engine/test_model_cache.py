"""course.graders.model_cache: make once, then load; a corrupt file is made again."""

import torch

from course.graders.model_cache import cache_file, cached_model, cached_object


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


def test_objects_are_pickled_once_and_a_corrupt_or_foreign_file_is_made_again(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("COURSE_GRADER_CACHE", str(tmp_path))
    made = []

    def make():
        made.append(1)
        return {"weights": [1.0, 2.0]}

    assert cached_object("thing", make, dict) == {"weights": [1.0, 2.0]}
    assert cached_object("thing", make, dict) == {"weights": [1.0, 2.0]} and len(made) == 1
    (tmp_path / "thing.pkl").write_bytes(b"garbage")
    assert cached_object("thing", make, dict) and len(made) == 2
    assert cached_object("thing", lambda: [1], list) == [1]  # a dict is not the expected type
