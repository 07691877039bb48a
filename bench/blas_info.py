"""The BLAS a Python peer loaded, printed beside its times (issue 22): shared by the bench references."""
import ctypes, os


def blas_info():
    """The BLAS this process loaded: library files, and OpenBLAS's build config, kernel and threads."""
    libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l or 'lapack' in l})
    info = {'libraries': sorted({os.path.realpath(p) for p in libs})}
    for p in libs:
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info.update(openblas_config=lib.openblas_get_config().decode(),
                        openblas_core=lib.openblas_get_corename().decode(),
                        openblas_threads=lib.openblas_get_num_threads())
            break
        except (OSError, AttributeError):
            continue
    info['env'] = {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OMP_WAIT_POLICY', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')}
    return info
