"""Readers and writers: trial TOML (see ``trials.spec``); summary JSON, Parquet, netCDF outputs."""

from .outputs import atomic_output_dir, write_json, write_netcdf, write_parquet

__all__ = ["atomic_output_dir", "write_json", "write_netcdf", "write_parquet"]
