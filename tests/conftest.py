import os

import torch
from hypothesis import HealthCheck, settings

# Property tests: no per-example deadline (a busy 2-core CI machine is slow), a moderate count.
settings.register_profile("course", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))
torch.set_num_threads(1)
