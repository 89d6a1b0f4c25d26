from iotsec.cli.main import main

main()
