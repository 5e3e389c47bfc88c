"""Code corpora the BigCode way (The Stack / StarCoder): repository access (`repos`), the language
table and notebook conversion (`languages`), license detection against SPDX texts (`licensedb`,
`spdx`, `license`), code quality filters (`filters`) and HumanEval/MBPP decontamination
(`decontaminate`). The reader is `thresher.io.code` (``format: code``)."""
