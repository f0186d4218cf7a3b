# Standin: every API, on $STANDIN_HOST:$STANDIN_PORT (0.0.0.0:8000 unless overridden), installed
# from a wheel (what `pip install .` builds), so the image runs exactly what the package ships.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STANDIN_HOST=0.0.0.0 STANDIN_PORT=8000
WORKDIR /src
RUN useradd --create-home --uid 10001 standin
COPY pyproject.toml README.md ./
COPY server ./server
COPY fixtures ./fixtures
COPY contract_tests ./contract_tests
RUN python -m pip install --quiet . && rm -rf /src
WORKDIR /home/standin
USER 10001
EXPOSE 8000
# The port is read when the check runs: `docker run -e STANDIN_PORT=9000` is checked on 9000.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/_standin/health' % os.environ.get('STANDIN_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=2).status == 200 else 1)"]
ENTRYPOINT ["standin"]
# Host and port come from the environment, so `docker run IMAGE serve --seed 7` keeps them.
CMD ["serve"]
