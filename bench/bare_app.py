"""The baseline for bench/api_bench.py: a bare FastAPI endpoint returning a constant."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/constant")
async def constant() -> dict:
    return {"status": "finished"}
