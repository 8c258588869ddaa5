"""The Spark offline engine (``offline_store: {type: spark}``): every line of Spark code in fsnb lives in this folder.

Installed with ``pip install 'fsnb[spark]'`` (pyspark 4.x, Java 17).
"""
