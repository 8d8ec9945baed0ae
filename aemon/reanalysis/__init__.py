"""``aemon reanalyse``: the detection of ``aemon detect`` over many recordings on Dask.

* :mod:`~aemon.reanalysis.chunks`: time chunks with a warm-up and a tail, owned samples;
* :mod:`~aemon.reanalysis.task`: one chunk through :func:`aemon.detect.offline.detect_reader`
  (the function the workers run);
* :mod:`~aemon.reanalysis.plan`: the chunks of each recording and its store;
* :mod:`~aemon.reanalysis.store`: finished chunks on disk (resumability);
* :mod:`~aemon.reanalysis.engine`: the Dask client, tasks, progress, errors and Ctrl-C.

Dask distributed is an optional extra (``pip install 'aemon[cluster]'``); only the engine
imports it, when it runs.
"""
