"""pycls configs in and out: read a file as pycls reads it, write a plan as a file pycls trains.

Reading (``read_text`` / ``read_config``) applies pycls's own rules: its defaults for every key a
file leaves out, its type checks, its model types (anynet, regnet, effnet, and resnet via the
AnyNet it builds), and refusals, naming the key, where pycls itself fails. Writing
(``plan_yaml``) gives the source file with only the model and image sizes changed, ``TEST.IM_SIZE``
scaled as pycls's ``scale_model()`` does; ``stored.plan_json_yaml`` does it for a stored plan's JSON.
Untrusted text is read with bounded work (``bounded``).
"""

from fastscale.pycls.reader import PyclsSource, is_pycls, read_config, read_spec, read_text
from fastscale.pycls.writer import plan_config, plan_yaml, scaled_config

__all__ = ["PyclsSource", "is_pycls", "read_config", "read_text", "plan_config", "plan_yaml",
           "scaled_config", "read_spec"]

