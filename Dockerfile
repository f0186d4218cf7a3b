# Standin: every API on port 8000. Install steps mirror the Makefile's.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 10001 standin
COPY pyproject.toml README.md schemathesis.toml ./
COPY server ./server
COPY fixtures ./fixtures
COPY contract_tests ./contract_tests
COPY specs ./specs
RUN python -m pip install --quiet -e . && chown -R standin /app
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/_standin/health', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["standin"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
