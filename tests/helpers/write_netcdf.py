#!/usr/bin/env python3
"""Writes a netCDF-3 classic file (scipy.io.netcdf_file) from a JSON description, for tests that build
their NetCDF fixtures from arrays computed in TypeScript: usage `write_netcdf.py SPEC.json`.

SPEC: {"path": OUT.nc, "dims": {name: size, ...},
       "vars": [{"name", "type": "f4"|"f8"|"i4"|"i2", "dims": [...], "data": RAW_FILE|null, "attrs": {...}}]}
RAW_FILE holds the values as little-endian float64, in the variable's dimension order (C order);
a variable without data is a scalar (a grid-mapping variable). Attribute values: strings, numbers
(written as float64, or as the variable's type for _FillValue / missing_value) and lists of numbers.
"""
import json
import sys
import numpy as np
from scipy.io import netcdf_file

spec = json.load(open(sys.argv[1]))
f = netcdf_file(spec["path"], "w")
for name, size in spec["dims"].items():
    f.createDimension(name, size)
for v in spec["vars"]:
    dt = np.dtype(v["type"])
    var = f.createVariable(v["name"], dt, tuple(v["dims"]))
    for k, a in v.get("attrs", {}).items():
        if isinstance(a, str):
            setattr(var, k, a)
        elif k in ("_FillValue", "missing_value"):
            setattr(var, k, dt.type(a))
        elif isinstance(a, list):
            setattr(var, k, np.array(a, dtype="f8"))
        else:
            setattr(var, k, np.float64(a))
    if v.get("data"):
        shape = tuple(spec["dims"][d] for d in v["dims"])
        data = np.fromfile(v["data"], dtype="<f8").reshape(shape)
        var[...] = data.astype(dt)
f.close()
print("ok")
