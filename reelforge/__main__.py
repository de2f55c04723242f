from reelforge.cli import app

app(prog_name="reelforge")
