import LabCLI

LabCommand.main()
