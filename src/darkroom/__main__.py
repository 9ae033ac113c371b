from darkroom.cli import main

main(prog_name="darkroom")
