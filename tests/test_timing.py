"""course_utils.timing: the median of repeats after warm-up, and a thread cap that is undone."""
import pytest
import torch
from threadpoolctl import threadpool_info

from course_utils import timing


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_median_time_warms_up_then_takes_the_median():
    calls = []
    seconds = timing.median_time(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(calls) == 7
    assert 0 <= seconds < 0.1


def test_threads_limited_caps_torch_and_blas_and_restores_them():
    torch.set_num_threads(2)
    with timing.threads_limited(1):
        assert torch.get_num_threads() == 1 == timing.threads()
        assert all(n == 1 for n in _blas_threads())
    assert torch.get_num_threads() == 2


def test_threads_limited_restores_after_an_error():
    torch.set_num_threads(2)
    with pytest.raises(ValueError), timing.threads_limited(1):
        raise ValueError("inside")
    assert torch.get_num_threads() == 2
