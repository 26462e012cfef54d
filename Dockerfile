# One image for both backends; BACKEND picks which one a container serves.
#   docker build -t label-studio-text-backends .
#   docker run -p 9090:9090 -e BACKEND=bert_classifier label-studio-text-backends
# Installs exactly what `make install` installs, with the same pip commands, and starts with the
# same `label-studio-ml start` (gunicorn) that `make run` uses. The PyPI torch wheel runs on CPU and,
# with the NVIDIA runtime, on GPU (see docker-compose.yml, profile "gpu").
FROM python:3.11-slim

ARG BACKEND=bert_classifier

ENV BACKEND=${BACKEND} \
    PORT=9090 \
    WORKERS=1 \
    THREADS=8 \
    LOG_LEVEL=INFO \
    MODEL_DIR=/data/models \
    HF_HOME=/data/hf-cache \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A virtual environment like `make`'s, and an unprivileged user that owns only the data volumes.
RUN python -m venv /opt/venv \
    && useradd --create-home --uid 1000 --user-group --shell /usr/sbin/nologin app \
    && mkdir -p /data/models /data/hf-cache \
    && chown -R app:app /data

WORKDIR /app

# Pinned dependencies first: this layer survives edits to the code.
COPY requirements.txt requirements-embedded.txt ./
RUN pip install --no-cache-dir --quiet -r requirements.txt \
    && pip install --no-cache-dir --quiet --no-deps -r requirements-embedded.txt

COPY pyproject.toml ./
COPY label_studio_ml ./label_studio_ml
COPY hf_text ./hf_text
COPY bert_classifier ./bert_classifier
COPY huggingface_ner ./huggingface_ner
COPY docker ./docker
RUN pip install --no-cache-dir --quiet --no-deps -e .

USER 1000:1000
VOLUME ["/data/models", "/data/hf-cache"]
EXPOSE 9090

# Loading the model happens before /health turns 200, hence the start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# exec: gunicorn becomes PID 1's replacement and receives `docker stop`'s SIGTERM directly.
CMD ["sh", "-c", "exec label-studio-ml start \"/app/${BACKEND}\" --host 0.0.0.0"]
