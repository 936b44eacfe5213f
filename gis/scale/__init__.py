"""The same pipeline on dask-geopandas over dask.distributed (city and province scale).

Parcels (三调 DLTB) are stored as GeoParquet, one partition per township
(first 9 digits of ``ZLDWDM``; county or Hilbert partitions as settings),
with the partitions' spatial hulls known so each task only receives the
neighbouring partitions it needs.  Every task calls the package's own
functions (:func:`gis.attach.evaluation_units`, :func:`gis.efficiency.evaluate`,
:func:`gis.pipeline.parcel_facts`, :func:`gis.renewal.rule_results`,
:func:`gis.renewal.renewal_blocks`, the density binning): there is no second
implementation of the rules, and one distributed path:

* :mod:`gis.scale.partitions`: parcels and firms as GeoParquet parts
  (:func:`write_partitioned`, :func:`write_firm_partitions`), keys, halos;
* :mod:`gis.scale.scores`: attach and score per partition; benchmarks,
  ranks and classes county-wide as one task on a worker;
* :mod:`gis.scale.renewal_steps`: facts, rules, candidates and blocks per
  partition; blocks merged across partition edges; global priorities;
* :mod:`gis.scale.density_steps`: sparse binning per partition, one grid
  convolved band by band;
* :mod:`gis.scale.cluster`: the dask client and task helpers;
* :mod:`gis.scale.run`: :func:`run_partitions` (every partition processed
  and written by the workers) and :func:`run_dask` (load, partition, run,
  read back for :func:`gis.pipeline.publish`).

Work crossing partition edges is handled: halos for attach and shared land,
county-wide benchmarks before scoring, renewal blocks re-merged across
edges, one density grid.

Typical use::

    from gis import demo, scale
    inputs = demo.demo_inputs(scale=0.1)
    result = scale.run_dask(**inputs, workers=2)     # a pipeline.Run
"""

from .cluster import dask_client
from .density_steps import density_grids
from .partitions import (ORD, PART, firm_homes, partition_keys, partition_landuse, read_partitioned,
                         write_firm_partitions, write_partitioned)
from .renewal_steps import renewal_results
from .run import read_density, read_output, results_from_partitions, run_dask, run_partitions
from .scores import firm_scores

__all__ = [
    "ORD", "PART", "dask_client", "partition_keys", "write_partitioned", "partition_landuse",
    "read_partitioned", "firm_scores", "renewal_results", "density_grids", "run_partitions",
    "results_from_partitions", "read_output", "read_density", "run_dask", "firm_homes",
    "write_firm_partitions",
]
