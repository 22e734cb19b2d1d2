from runtime_images.cli import app

app(prog_name="runtime-images")
